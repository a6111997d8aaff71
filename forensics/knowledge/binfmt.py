"""binfmt_misc: what a node's `/proc/sys/fs/binfmt_misc` entries say about emulation.

Each registered handler is a file (`qemu-aarch64`, ...) whose first line is `enabled` or `disabled`,
then `interpreter <path>`, `flags: <letters>`, `offset <n>`, `magic <hex>` and `mask <hex>`
(https://docs.kernel.org/admin-guide/binfmt-misc.html); `status` says whether binfmt_misc as a whole
is on, and `register` is the write-only registration file. `parse_entry` reads one such file;
`binfmt_arch` says which architecture a handler runs, from the ELF magic it matches or its name.
"""

from __future__ import annotations

from dataclasses import dataclass

# ELF e_machine -> GOARCH, for binfmt magic (byte 18-19 of the ELF header, little endian)
_E_MACHINE = {
    0x3E: "amd64",
    0xB7: "arm64",
    0x28: "arm",
    0x03: "386",
    0x15: "ppc64le",
    0x16: "s390x",
    0xF3: "riscv64",
    0x08: "mips64le",
}
_QEMU_NAMES = {
    "aarch64": "arm64",
    "x86_64": "amd64",
    "arm": "arm",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "armeb": "armbe",
    "aarch64_be": "arm64be",
}


@dataclass(frozen=True, slots=True)
class BinfmtEntry:
    """One binfmt_misc file as read: `status` has only `enabled`; a handler has the rest."""

    entry: str
    enabled: bool
    interpreter: str | None = None
    flags: str | None = None
    arch: str | None = None


def parse_entry(entry: str, data: bytes) -> BinfmtEntry | None:
    """One binfmt_misc file named `entry`; None for `register`, which holds nothing to read."""
    if entry == "register":
        return None
    text = data.decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    enabled = bool(lines) and lines[0] == "enabled"
    if entry == "status":
        return BinfmtEntry(entry, enabled)
    interp = flags = magic = None
    offset = 0
    for ln in lines[1:]:
        key, _, val = ln.partition(" ")
        if key == "interpreter":
            interp = val.strip()
        elif key == "flags:":
            flags = val.strip()
        elif key == "magic":
            magic = val.strip()
        elif key == "offset":
            offset = int(val) if val.strip().isdigit() and len(val.strip()) < 10 else 0
    return BinfmtEntry(entry, enabled, interp, flags, binfmt_arch(entry, magic, offset))


def binfmt_arch(entry: str, magic: str | None, offset: int) -> str | None:
    if magic and offset == 0:
        try:
            b = bytes.fromhex(magic)
            if len(b) >= 20 and b[:4] == b"\x7fELF":
                em = int.from_bytes(b[18:20], "little" if b[5] == 1 else "big")
                if em in _E_MACHINE:
                    return _E_MACHINE[em]
        except ValueError:
            pass
    name = entry.removeprefix("qemu-").removesuffix("-static")
    return _QEMU_NAMES.get(name)
