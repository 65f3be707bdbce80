"""Image bytes for the layer-scan tests: ELF headers, layer tars, and the tarballs `docker image save` writes.

A layer is a mapping path -> content (bytes: a regular file; `Symlink(target)`, `Hardlink(target)`; `None`: a
folder). Whiteouts are regular files named `.wh.<name>` and `.wh..wh..opq`, as the OCI spec lays them out.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

X86_64, I386, AARCH64 = 62, 3, 183


def elf(e_machine: int, *, elf_class: int = 2, little_endian: bool = True, size: int = 4096) -> bytes:
    """An ELF file: a well-formed 20-byte identification and `e_machine`, then filler."""
    order = "little" if little_endian else "big"
    ident = b"\x7fELF" + bytes([elf_class, 1 if little_endian else 2, 1]) + bytes(9)
    header = ident + (3).to_bytes(2, order) + e_machine.to_bytes(2, order)  # e_type ET_DYN
    return header + bytes(size - len(header))


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Hardlink:
    target: str


Entry = bytes | Symlink | Hardlink | None


def layer_tar(files: Mapping[str, Entry], *, compress: bool = False) -> bytes:
    """One layer: a tar of `files`, gzip-compressed as registries store layers when `compress`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif isinstance(content, Symlink):
                info.type, info.linkname = tarfile.SYMTYPE, content.target
                archive.addfile(info)
            elif isinstance(content, Hardlink):
                info.type, info.linkname = tarfile.LNKTYPE, content.target
                archive.addfile(info)
            else:
                info.size, info.mode = len(content), 0o755
                archive.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    return gzip.compress(data, mtime=0) if compress else data


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tarball(members: Mapping[str, bytes], target: Path) -> Path:
    with tarfile.open(target, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


def docker_save(layers: Sequence[Mapping[str, Entry]], target: Path, *, legacy: bool = True) -> Path:
    """What `docker image save` writes for one image: `legacy` is the docker-save layout (`<id>/layer.tar` and
    manifest.json); otherwise the OCI image layout (index.json, blobs/sha256/...) with gzip layers and no
    manifest.json, as a containerd image store can save it."""
    tars = [layer_tar(files, compress=not legacy) for files in layers]
    config = json.dumps(
        {"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [digest(t) for t in tars]}}
    ).encode()
    if legacy:
        names = [f"{digest(t)[7:]}/layer.tar" for t in tars]
        manifest = [{"Config": f"{digest(config)[7:]}.json", "RepoTags": ["gg-dev-api:candidate"], "Layers": names}]
        members = {f"{digest(config)[7:]}.json": config, **dict(zip(names, tars, strict=True))}
        return _tarball({**members, "manifest.json": json.dumps(manifest).encode()}, target)
    image_manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(t), "size": len(t)}
                for t in tars
            ],
        }
    ).encode()
    attestation = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": digest(b"{}"), "size": 2}],
        }
    ).encode()
    platform_index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": digest(image_manifest), "platform": {"architecture": "arm64", "os": "linux"}},
                {"digest": digest(attestation), "platform": {"architecture": "unknown", "os": "unknown"}},
                # a platform the save left out: named by the index, no blob in the archive
                {"digest": digest(b"amd64 manifest"), "platform": {"architecture": "amd64", "os": "linux"}},
            ],
        }
    ).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": digest(platform_index)}]}).encode()
    blobs = [config, image_manifest, attestation, b"{}", platform_index, *tars]
    members = {f"blobs/sha256/{digest(blob)[7:]}": blob for blob in blobs}
    return _tarball({"oci-layout": b'{"imageLayoutVersion": "1.0.0"}', "index.json": index, **members}, target)
