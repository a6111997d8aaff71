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


# -- operating systems ---------------------------------------------------------------------------

_OS_ALIASES = {"windows": "windows", "win": "windows", "win32": "windows", "linux": "linux", "gnu/linux": "linux"}


def normalize_os(os: str | None) -> str:
    """ "Windows", "windows" -> "windows"; empty -> "" (unknown; callers decide the default)."""
    o = (os or "").strip().lower()
    return _OS_ALIASES.get(o, o)


def platform_label(os: str | None, arch: str | None, variant: str | None = None) -> str:
    """How evidence and summaries name a node or image platform: "amd64", "arm64" (v8 is what
    everyone means), 32-bit ARM always with its variant ("arm/v7", "arm/v6"), other variants when
    present ("arm64/v9"), the OS when it is not Linux ("windows/amd64")."""
    a, v = normalize_arch(arch, variant)
    if not a:
        return ""
    label = f"{a}/{v}" if v and a != "amd64" and not (a == "arm64" and v == "v8") else a
    o = normalize_os(os)
    return label if o in ("", "linux") else f"{o}/{label}"


def windows_build(version: str | None) -> str | None:
    """The build part of a Windows version: "10.0.17763.2686" -> "10.0.17763" (what must match
    for process isolation; the fourth field is the patch level)."""
    parts = (version or "").strip().split(".")
    if len(parts) < 3 or not all(p.isdigit() for p in parts[:3]):
        return None
    return ".".join(parts[:3])


# -- 32-bit ARM on 64-bit hosts ------------------------------------------------------------------

# Instance families whose CPUs have no AArch32 execution state: 32-bit arm images cannot run there
# at all, with or without a matching kernel (AWS Graviton2/3/4, Ampere Altra and AmpereOne on
# Azure, GCP and OCI). Prefixes of the `node.kubernetes.io/instance-type` label.
NO_AARCH32_INSTANCE_PREFIXES = (
    "a1.",
    "m6g",
    "m7g",
    "m8g",
    "c6g",
    "c7g",
    "c8g",
    "r6g",
    "r7g",
    "r8g",
    "t4g",
    "x2g",
    "im4g",
    "is4g",
    "hpc7g",
    "g5g",
    "i8g",
    "t2a-",
    "c4a-",
    "standard_d2ps",
    "standard_d4ps",
    "standard_d8ps",
    "standard_d16ps",
    "standard_e2ps",
    "standard_e4ps",
    "standard_d2pls",
    "standard_d4pls",
    "vm.standard.a1",
    "vm.standard.a2",
)


def lacks_aarch32(instance_type: str | None) -> bool:
    """Whether an arm64 node's instance type is known to have no AArch32 (Graviton, Ampere)."""
    it = (instance_type or "").strip().lower()
    return bool(it) and it.startswith(NO_AARCH32_INSTANCE_PREFIXES)


# -- x86-64 microarchitecture levels ---------------------------------------------------------------

# The x86-64 psABI levels, as CPUID feature names the way Node Feature Discovery labels them
# (`feature.node.kubernetes.io/cpu-cpuid.<NAME>`). NFD does not label every baseline feature by
# default (SSE4/SSE42/POPCNT/CX16/BMI are in its default deny list), so a level is read from the
# features NFD does publish: v3 needs AVX2 and FMA3, v4 needs AVX512F/BW/CD/DQ/VL; v2 is implied by
# any AVX (no CPU has AVX without SSE4.2) or by SSE42/POPCNT labels when a custom config shows them.
X86_LEVEL_FEATURES = {
    "v2": ("SSE42", "POPCNT", "SSSE3", "SSE4"),
    "v3": ("AVX", "AVX2", "FMA3", "F16C", "MOVBE", "BMI1", "BMI2", "LZCNT"),
    "v4": ("AVX512F", "AVX512BW", "AVX512CD", "AVX512DQ", "AVX512VL"),
}
NFD_CPUID_PREFIX = "feature.node.kubernetes.io/cpu-cpuid."
NFD_CPU_MODEL_PREFIX = "feature.node.kubernetes.io/cpu-model."


def x86_level_from_features(features: set[str]) -> str | None:
    """The highest x86-64 level these CPUID features prove (v1..v4), None when nothing is known.

    Absence only counts when the set is not empty: an NFD node that publishes AVX but no AVX2
    is v2; a node with no NFD labels at all is unknown, not v1."""
    f = {x.upper() for x in features}
    if not f:
        return None
    if all(x in f for x in X86_LEVEL_FEATURES["v4"]) and {"AVX2", "FMA3"} <= f:
        return "v4"
    if {"AVX2", "FMA3"} <= f:
        return "v3"
    if "AVX" in f or {"SSE42", "POPCNT"} <= f:
        return "v2"
    return "v1"


def level_rank(level: str | None) -> int:
    """v1 -> 1 ... v4 -> 4; unknown -> 0."""
    if not level or not level.startswith("v") or not level[1:].isdigit():
        return 0
    return int(level[1:])


# /proc/cpuinfo flag names of the features that decide each level (the psABI lists; lzcnt is `abm`)
_CPUINFO_LEVELS = (
    ("v4", ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")),
    ("v3", ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "movbe", "abm")),
    ("v2", ("cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3")),
)


def x86_level_from_cpuinfo(flags: set[str]) -> str | None:
    """The x86-64 level a /proc/cpuinfo `flags` line proves; None for a non-x86 flags set."""
    f = {x.lower() for x in flags}
    if not {"lm", "sse2"} <= f:
        return None
    for level, _need in _CPUINFO_LEVELS:
        lower = [lv for lv, _ in _CPUINFO_LEVELS if level_rank(lv) <= level_rank(level)]
        if all(set(n) <= f for lv, n in _CPUINFO_LEVELS if lv in lower):
            return level
    return "v1"
