"""`knowledge.binfmt.parse_entry`: one /proc/sys/fs/binfmt_misc file as the kernel prints it, from real
entries (tests/fixtures/realdata/binfmt, see SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.knowledge.binfmt import binfmt_arch, parse_entry

REAL = Path(__file__).resolve().parent / "fixtures" / "realdata" / "binfmt"


@pytest.mark.parametrize(
    ("entry", "file", "arch", "interpreter", "flags"),
    [
        (
            "qemu-aarch64",
            "proc-binfmt_misc-qemu-aarch64.qemu-user-static.txt",
            "arm64",
            "/usr/bin/qemu-aarch64-static",
            "F",
        ),
        ("qemu-arm", "proc-binfmt_misc-qemu-arm.tonistiigi-binfmt.txt", "arm", "/usr/bin/qemu-arm", "POCF"),
        ("qemu-x86_64", "proc-binfmt_misc-qemu-x86_64.qus.txt", "amd64", "/qus/bin/qemu-x86_64-static", "F"),
    ],
)
def test_real_handlers(entry: str, file: str, arch: str, interpreter: str, flags: str) -> None:
    e = parse_entry(entry, (REAL / file).read_bytes())
    assert e is not None
    assert (e.enabled, e.arch, e.interpreter, e.flags) == (True, arch, interpreter, flags)


def test_the_magic_decides_over_the_name() -> None:
    # an aarch64 handler registered under a name that says nothing: the ELF e_machine (0xb7) tells
    text = (REAL / "proc-binfmt_misc-qemu-aarch64.qemu-user-static.txt").read_bytes()
    e = parse_entry("my-emulator", text)
    assert e is not None and e.arch == "arm64"


def test_name_without_usable_magic() -> None:
    e = parse_entry("qemu-riscv64", b"disabled\ninterpreter /usr/bin/qemu-riscv64\nflags: F\noffset 0\nmagic zz\n")
    assert e is not None and (e.enabled, e.arch) == (False, "riscv64")
    assert binfmt_arch("unknown-handler", None, 0) is None


def test_status_and_register() -> None:
    on = parse_entry("status", b"enabled\n")
    off = parse_entry("status", b"disabled\n")
    assert on is not None and on.enabled and on.interpreter is None
    assert off is not None and not off.enabled
    assert parse_entry("register", b"") is None
    empty = parse_entry("qemu-arm", b"")
    assert empty is not None and not empty.enabled and empty.arch == "arm"
