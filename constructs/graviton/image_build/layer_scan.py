"""Which machine an image's native code is built for, from the ELF headers of the files in its layers.

An image config's `architecture` is a label: a binary fetched with curl for x86-64, or copied from a
`--platform=$BUILDPLATFORM` stage, sits in an "arm64" image and fails only when it runs. Every regular file of
every layer is read up to its first 20 bytes (`graviton.guardrails.elf`), so a 1 GB layer costs one pass of its
tar headers. The result is the image's filesystem: a later layer's whiteout, or a file that replaces a path,
removes what the layers below held there.

Standard library only: the ARM image build runs it (`python -m graviton.image_build.layer_scan image.tar` on the
output of `docker image save`, the modules written into the build by ArmImageBuild), and `verify --deep` applies
`scan_layers` to the layers it downloads from ECR.
"""

from __future__ import annotations

import json
import posixpath
import sys
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from graviton.guardrails.elf import AARCH64, HEADER_BYTES, machine, machine_name

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
# How many offending paths a refusal prints; the count says how many there are in all.
SHOWN = 10
# Layer media types (OCI's, any compression, and Docker's); other blobs a manifest lists (attestations) are not
# filesystems.
LAYER_MEDIA_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.diff.tar",
)


class ScanError(Exception):
    """The image or a layer could not be read: it cannot be said to hold aarch64 code only."""


@dataclass
class Layer:
    """What one layer does to the filesystem: files it writes (with `e_machine` for ELF files) and removes."""

    machines: dict[str, int] = field(default_factory=dict)  # path -> e_machine of each ELF file written
    written: set[str] = field(default_factory=set)  # every path written (any type), replacing the one below
    removed: set[str] = field(default_factory=set)  # whiteouts: the path and everything under it
    emptied: set[str] = field(default_factory=set)  # opaque whiteouts: everything under the folder


def _path(name: str) -> str:
    """A member's name as an absolute path: `./usr/bin/x`, `usr/bin/x` and `/usr/bin/x` are one file."""
    return posixpath.normpath("/" + name.lstrip("/"))


def scan_layer(stream: IO[bytes]) -> Layer:
    """Read one layer's tar (plain, gzip, bzip2 or xz) from a stream, headers and first bytes only."""
    layer = Layer()
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                path = _path(member.name)
                folder, base = posixpath.split(path)
                if base == OPAQUE:
                    layer.emptied.add(folder)
                elif base.startswith(WHITEOUT):
                    layer.removed.add(posixpath.join(folder, base[len(WHITEOUT) :]))
                elif member.isreg():
                    layer.written.add(path)
                    file = archive.extractfile(member)
                    found = machine(file.read(HEADER_BYTES)) if file else None
                    if found is not None:
                        layer.machines[path] = found
                elif member.islnk():  # a hard link is the same bytes under another name
                    layer.written.add(path)
                    target = layer.machines.get(_path(member.linkname))
                    if target is not None:
                        layer.machines[path] = target
                else:  # folders, symbolic links (their target is scanned where it is), devices
                    layer.written.add(path)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ScanError(f"cannot read it as a tar ({err})") from None
    return layer


def _under(paths: Iterable[str], folder: str) -> list[str]:
    prefix = folder.rstrip("/") + "/"
    return [path for path in paths if path.startswith(prefix)]


def merge(layers: Iterable[Layer]) -> dict[str, int]:
    """The image's ELF files (path -> e_machine), layers applied bottom first as the container runtime does."""
    files: dict[str, int] = {}
    for layer in layers:
        # A layer's whiteouts hide what the layers below hold, never its own files.
        for folder in layer.emptied:
            for path in _under(files, folder):
                del files[path]
        for gone in layer.removed:
            for path in [gone, *_under(files, gone)]:
                files.pop(path, None)
        for path in layer.written:
            files.pop(path, None)
        files.update(layer.machines)
    return files


def foreign(files: dict[str, int]) -> list[tuple[str, str]]:
    """(path, machine) of every ELF file built for another machine than aarch64, by path."""
    return [(path, machine_name(found)) for path, found in sorted(files.items()) if found != AARCH64]


def scan_layers(streams: Iterable[IO[bytes]]) -> list[tuple[str, str]]:
    """The foreign ELF files of an image whose layer tars are `streams`, bottom layer first."""
    return foreign(merge(scan_layer(stream) for stream in streams))


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        file = archive.extractfile(posixpath.normpath(name))
    except KeyError:
        file = None
    if file is None:
        raise ScanError(f"the image archive has no {name}")
    return file


def _oci_layers(archive: tarfile.TarFile, digest: str) -> Iterator[str]:
    """Layer paths of every image an OCI index or manifest names whose blobs the archive holds."""
    algorithm, _, value = digest.partition(":")
    try:
        document = json.load(_member(archive, f"blobs/{algorithm}/{value}"))
    except ScanError:
        return  # a platform the save left out
    for entry in document.get("manifests", []):
        yield from _oci_layers(archive, entry["digest"])
    for layer in document.get("layers", []):
        if layer.get("mediaType", "").startswith(LAYER_MEDIA_TYPES):
            algorithm, _, value = layer["digest"].partition(":")
            yield f"blobs/{algorithm}/{value}"


def image_layers(archive: tarfile.TarFile) -> list[list[str]]:
    """Each saved image's layer paths, bottom first: `manifest.json` (docker-save layout, also written by Docker 25
    and later beside the OCI layout), else the OCI layout's `index.json`."""
    names = set(archive.getnames())
    if "manifest.json" in names:
        entries = json.load(_member(archive, "manifest.json"))
        return [list(entry["Layers"]) for entry in entries]
    if "index.json" in names:
        index = json.load(_member(archive, "index.json"))
        return [list(_oci_layers(archive, entry["digest"])) for entry in index.get("manifests", [])]
    raise ScanError("neither manifest.json nor index.json: not an image saved by docker image save")


def scan_archive(path: str) -> list[tuple[str, str]]:
    """The foreign ELF files of every image in a `docker image save` tarball."""
    try:
        with tarfile.open(path) as archive:
            found: list[tuple[str, str]] = []
            for layers in image_layers(archive):
                streams = (_member(archive, name) for name in layers)
                found += scan_layers(streams)
            return found
    except (tarfile.TarError, OSError, ValueError, KeyError) as err:
        raise ScanError(f"cannot read {path}: {err}") from None


def main(argv: list[str]) -> int:
    """`python -m graviton.image_build.layer_scan IMAGE.tar`: exit 1 naming the first foreign files, 0 when none."""
    if len(argv) != 1:
        print("layer_scan: give one argument, the tarball `docker image save` wrote", file=sys.stderr)
        return 2
    try:
        found = scan_archive(argv[0])
    except ScanError as err:
        print(f"refusing to push: cannot scan the image's files: {err}")
        return 1
    if not found:
        print("image files: every ELF binary and library is aarch64")
        return 0
    print(f"refusing to push: {len(found)} ELF file(s) in the image are not aarch64 code:")
    for path, name in found[:SHOWN]:
        print(f"  {path} ({name})")
    if len(found) > SHOWN:
        print(f"  ... and {len(found) - SHOWN} more")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
