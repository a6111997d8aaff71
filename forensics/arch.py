"""CPU architecture and platform vocabulary, normalized the way container runtimes match them.

Kubelets report `runtime.GOARCH` (amd64, arm64, arm, ...), but hand-edited objects, kernels and
some tools say x86_64 / aarch64 / armv7l. Image platforms carry an optional variant; containerd's
platform matcher treats arm64 with no variant as arm64/v8, and arm with no variant as arm/v7
(containerd `platforms.Normalize`). We follow the same rules so that "can this node run this
image?" agrees with what the runtime would have pulled.
"""

from __future__ import annotations

from typing import NamedTuple

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "x64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv8": "arm64",
    "armv8l": "arm",
    "armhf": "arm",
    "armel": "arm",
    "arm": "arm",
    "armv7": "arm",
    "armv7l": "arm",
    "armv6": "arm",
    "armv6l": "arm",
    "armv5": "arm",
    "armv5l": "arm",
    "i386": "386",
    "i486": "386",
    "i586": "386",
    "i686": "386",
    "x86": "386",
    "386": "386",
    "ppc64le": "ppc64le",
    "ppc64el": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64le",
    "loong64": "loong64",
}

# the variant implied by an alias spelled with a version (armv7l -> arm/v7)
_ALIAS_VARIANT = {
    "armv7": "v7",
    "armv7l": "v7",
    "armhf": "v7",
    "armv6": "v6",
    "armv6l": "v6",
    "armel": "v6",
    "armv5": "v5",
    "armv5l": "v5",
    "armv8": "v8",
    "aarch64": "v8",
}

_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7"}


class Platform(NamedTuple):
    """A normalized os/arch/variant triple; variant is "" where none applies."""

    os: str
    arch: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)

    @property
    def short(self) -> str:
        """linux/arm64 for the default variant (what people write in --platform)."""
        if self.variant and _DEFAULT_VARIANT.get(self.arch) == self.variant:
            return f"{self.os}/{self.arch}"
        return str(self)


def normalize_arch(arch: str | None, variant: str | None = None) -> tuple[str, str]:
    """Return (arch, variant) normalized: aarch64 -> (arm64, v8), armv7l -> (arm, v7), x86_64 -> amd64.

    Unknown architectures are returned lower-cased, unchanged. An empty arch stays "".
    Variants like "armv7"/"armv8" (seen in old Docker lists) become "v7"/"v8".
    """
    a = (arch or "").strip().lower()
    v = (variant or "").strip().lower()
    if not a:
        return "", ""
    canon = _ARCH_ALIASES.get(a, a)
    if not v:
        v = _ALIAS_VARIANT.get(a, "")
    if v.startswith("arm") and v[3:4] == "v":  # "armv7" -> "v7"
        v = v[3:]
    elif v.startswith("armv"):
        v = "v" + v[4:]
    if canon in _DEFAULT_VARIANT and not v:
        v = _DEFAULT_VARIANT[canon]
    if canon not in _DEFAULT_VARIANT and canon != "386":
        # amd64 microarchitecture levels (v2, v3) still run on any amd64 node we would see
        v = v if canon == "amd64" and v in ("v1", "v2", "v3", "v4") else ""
    return canon, v


def normalize_platform(os: str | None, arch: str | None, variant: str | None = None) -> Platform:
    a, v = normalize_arch(arch, variant)
    return Platform((os or "linux").strip().lower() or "linux", a, v)


def parse_platform(text: str) -> Platform:
    """Parse "linux/arm64/v8", "linux/amd64", "arm64" into a normalized Platform.

    Spellings of one platform parse equal: arm64 = arm64/v8 = aarch64, arm = arm/v7 = armv7l,
    x86_64 = amd64. An empty part ("linux/", "linux//arm64") or more than three is not a platform."""
    raw = text.strip().split("/")
    if not text.strip() or len(raw) > 3 or any(not p.strip() for p in raw):
        raise ValueError(f"not a platform: {text!r} (expected OS/ARCH[/VARIANT], e.g. linux/arm64)")
    parts = [p.strip() for p in raw]
    if len(parts) == 1:
        return normalize_platform("linux", parts[0])
    if len(parts) == 2:
        return normalize_platform(parts[0], parts[1])
    if len(parts) >= 3:
        return normalize_platform(parts[0], parts[1], parts[2])
    raise ValueError(f"not a platform: {text!r}")


def can_run(node: Platform, image: Platform) -> bool:
    """Whether a node of platform `node` runs an image built for `image` natively.

    arm64 nodes run arm/v7 and arm/v6 binaries only when the CPU has AArch32 (Graviton and
    Ampere do not), so we do not count that as runnable. arm/v7 nodes run arm/v6 and v5.
    """
    if node.os != image.os or node.arch != image.arch:
        return False
    if node.arch == "arm" and node.variant and image.variant:
        return image.variant <= node.variant
    if node.arch == "amd64" and image.variant:
        return image.variant in ("", "v1", "v2") or image.variant <= (node.variant or "v2")
    return True
