"""Which machine a native binary is built for, from its ELF header alone (never from its name).

Only the first 20 bytes of each file are read: magic, class, data encoding and `e_machine`, so a large asset is
scanned as fast as a small one. Zip and jar files (and archives inside them) are read member by member.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import IO

MAGIC = b"\x7fELF"
HEADER_BYTES = 20  # e_ident (16) + e_type (2) + e_machine (2)
AARCH64 = 183
# e_machine values (System V ABI) a Lambda asset could plausibly carry; others are shown by number.
MACHINES = {
    3: "i386",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390",
    40: "arm",
    62: "x86-64",
    183: "aarch64",
    243: "riscv",
}
ARCHIVE_SUFFIXES = (".zip", ".jar", ".war", ".whl", ".egg")


def machine(header: bytes) -> int | None:
    """`e_machine` of an ELF header, or None when the bytes are not a well-formed ELF identification."""
    if len(header) < HEADER_BYTES or header[:4] != MAGIC:
        return None
    elf_class, encoding = header[4], header[5]
    if elf_class not in (1, 2) or encoding not in (1, 2):  # 32/64-bit; little/big endian
        return None
    return int.from_bytes(header[18:20], "little" if encoding == 1 else "big")


def machine_name(number: int) -> str:
    return MACHINES.get(number, f"e_machine {number}")


def _scan_stream(name: str, stream: IO[bytes]) -> Iterator[tuple[str, int]]:
    header = stream.read(HEADER_BYTES)
    found = machine(header)
    if found is not None:
        yield name, found
    elif header[:4] == b"PK\x03\x04" and name.lower().endswith(ARCHIVE_SUFFIXES):
        # an archive inside an archive (a jar in a layer's zip): its members need the whole member, seekable
        rest = header + stream.read()
        yield from _scan_zip(name, zipfile.ZipFile(io.BytesIO(rest)))


def _scan_zip(prefix: str, archive: zipfile.ZipFile) -> Iterator[tuple[str, int]]:
    for member in archive.infolist():
        if member.is_dir():
            continue
        with archive.open(member) as stream:
            yield from _scan_stream(f"{prefix}!{member.filename}" if prefix else member.filename, stream)


def _scan_folder(folder: str, prefix: str) -> Iterator[tuple[str, int]]:
    # os.scandir's entries know their type without a stat, and unbuffered reads skip a copy: a folder of
    # thousands of files costs a few milliseconds. Symlinks are skipped, as the asset staging dereferences them.
    with os.scandir(folder) as found:
        entries = sorted(found, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _scan_folder(entry.path, f"{prefix}{entry.name}/")
        elif entry.is_file(follow_symlinks=False):
            with open(entry.path, "rb", buffering=0) as stream:
                yield from _scan_stream(prefix + entry.name, stream)


def binaries(path: Path) -> Iterator[tuple[str, int]]:
    """(file inside the asset, e_machine) for every ELF file in a folder, a zip/jar, or a single file."""
    if path.is_dir():
        yield from _scan_folder(str(path), "")
    elif path.is_file():
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                yield from _scan_zip("", archive)
        else:
            with path.open("rb") as stream:
                yield from _scan_stream(path.name, stream)


@cache
def foreign_binaries(path: str) -> tuple[tuple[str, str], ...]:
    """(file inside, machine) for every ELF file in the asset built for another machine than aarch64; one scan
    per asset however many functions share it."""
    return tuple((name, machine_name(found)) for name, found in binaries(Path(path)) if found != AARCH64)
