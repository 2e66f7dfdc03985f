"""Read the few ELF header fields the tests check: the machine and whether a loader is needed."""

from __future__ import annotations

import struct

MACHINES = {"amd64": 62, "arm64": 183}  # e_machine values
PT_INTERP = 3  # program header type naming a dynamic loader: absent from a static binary


def check_elf64_little_endian(binary: bytes) -> None:
    """Fail unless binary is a 64-bit little-endian ELF file, the only kind read here."""
    assert binary[:4] == b"\x7fELF", "not an ELF file"
    assert binary[4] == 2, "not a 64-bit ELF file"  # EI_CLASS: ELFCLASS64
    assert binary[5] == 1, "not a little-endian ELF file"  # EI_DATA: ELFDATA2LSB


def machine(binary: bytes) -> int:
    """Return e_machine (62 amd64, 183 arm64)."""
    check_elf64_little_endian(binary)
    return int(struct.unpack_from("<H", binary, 18)[0])


def program_header_types(binary: bytes) -> list[int]:
    """Return the p_type of every program header."""
    check_elf64_little_endian(binary)
    (phoff,) = struct.unpack_from("<Q", binary, 32)
    phentsize, phnum = struct.unpack_from("<HH", binary, 54)
    return [struct.unpack_from("<I", binary, phoff + i * phentsize)[0] for i in range(phnum)]


def is_static(binary: bytes) -> bool:
    """Tell whether the binary runs without a dynamic loader, as scratch needs."""
    return PT_INTERP not in program_header_types(binary)
