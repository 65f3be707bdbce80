"""The image scan the ARM build runs before pushing: ELF headers of the image's filesystem, from `docker image save`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from image_support import AARCH64, I386, X86_64, Hardlink, Symlink, docker_save, elf, layer_tar

from graviton.image_build import layer_scan
from graviton.image_build.layer_scan import ScanError, scan_archive

BASE = {
    "usr/": None,
    "usr/bin/": None,
    "usr/bin/python3.13": elf(AARCH64),
    "usr/lib/libc.so.6": elf(AARCH64),
    "etc/os-release": b'NAME="Debian GNU/Linux"\n',
}
LAYOUTS = [pytest.param(True, id="docker-save"), pytest.param(False, id="oci")]


@pytest.mark.parametrize("legacy", LAYOUTS)
def test_an_all_aarch64_image_passes(tmp_path: Path, legacy: bool) -> None:
    app = {"var/task/pydantic_core/_pydantic_core.so": elf(AARCH64), "var/task/app.py": b"print('hi')\n"}
    assert scan_archive(str(docker_save([BASE, app], tmp_path / "image.tar", legacy=legacy))) == []


@pytest.mark.parametrize("legacy", LAYOUTS)
def test_an_x86_64_binary_in_a_later_layer_is_found_by_path(tmp_path: Path, legacy: bool) -> None:
    fetched = {"usr/local/bin/": None, "usr/local/bin/kubectl": elf(X86_64)}
    found = scan_archive(str(docker_save([BASE, fetched], tmp_path / "image.tar", legacy=legacy)))
    assert found == [("/usr/local/bin/kubectl", "x86-64")]


def test_32_bit_and_big_endian_headers_are_read_by_their_own_class_and_order(tmp_path: Path) -> None:
    layer = {
        "opt/i386": elf(I386, elf_class=1),
        "opt/arm64-be": elf(AARCH64, little_endian=False),  # e_machine read big-endian: still aarch64
    }
    assert scan_archive(str(docker_save([layer], tmp_path / "image.tar"))) == [("/opt/i386", "i386")]


def test_a_file_with_x86_bytes_at_offset_18_but_no_elf_identification_passes(tmp_path: Path) -> None:
    not_elf = bytearray(elf(X86_64))
    not_elf[:4] = b"\x7fPNG"
    bad_class = bytearray(elf(X86_64))
    bad_class[4] = 7  # neither 32- nor 64-bit: not an ELF file
    layer = {"data/picture.png": bytes(not_elf), "data/odd": bytes(bad_class), "data/short": b"\x7fELF\x02\x01"}
    assert scan_archive(str(docker_save([BASE, layer], tmp_path / "image.tar"))) == []


@pytest.mark.parametrize("legacy", LAYOUTS)
def test_a_whiteout_in_a_later_layer_removes_the_x86_file_from_the_filesystem(tmp_path: Path, legacy: bool) -> None:
    added = {"opt/tool/": None, "opt/tool/bin/x86": elf(X86_64), "usr/local/bin/helper": elf(X86_64)}
    removed = {"opt/.wh.tool": b"", "usr/local/bin/.wh.helper": b""}
    assert scan_archive(str(docker_save([BASE, added, removed], tmp_path / "image.tar", legacy=legacy))) == []


def test_an_opaque_folder_hides_the_layers_below_but_not_its_own_files(tmp_path: Path) -> None:
    below = {"opt/app/": None, "opt/app/old-x86": elf(X86_64)}
    opaque = {"opt/app/": None, "opt/app/.wh..wh..opq": b"", "opt/app/new-x86": elf(X86_64)}
    found = scan_archive(str(docker_save([below, opaque], tmp_path / "image.tar")))
    assert found == [("/opt/app/new-x86", "x86-64")]


def test_a_whiteout_hides_only_the_layers_below_and_a_replacement_counts(tmp_path: Path) -> None:
    # the same layer adds the file again after whiting out the lower one; another path is replaced by a script
    lower = {"opt/x86": elf(X86_64), "usr/bin/tool": elf(X86_64)}
    upper = {"opt/.wh.x86": b"", "opt/x86": elf(X86_64), "usr/bin/tool": b"#!/bin/sh\nexec true\n"}
    assert scan_archive(str(docker_save([lower, upper], tmp_path / "image.tar"))) == [("/opt/x86", "x86-64")]


def test_symlinks_are_not_followed_and_hard_links_carry_their_targets_machine(tmp_path: Path) -> None:
    layer = {
        "usr/bin/x86": elf(X86_64),
        "usr/bin/alias": Symlink("x86"),  # the target is scanned where it is: one finding
        "usr/bin/hard": Hardlink("usr/bin/x86"),
        "usr/bin/dangling": Symlink("/nowhere"),
    }
    found = scan_archive(str(docker_save([layer], tmp_path / "image.tar")))
    assert found == [("/usr/bin/hard", "x86-64"), ("/usr/bin/x86", "x86-64")]


def test_the_command_prints_the_first_offending_paths_and_exits_1(tmp_path: Path, capsys) -> None:
    layer = {f"opt/bin/tool{n:02}": elf(X86_64) for n in range(12)}
    code = layer_scan.main([str(docker_save([BASE, layer], tmp_path / "image.tar"))])
    out = capsys.readouterr().out.splitlines()

    assert code == 1
    assert out[0] == "refusing to push: 12 ELF file(s) in the image are not aarch64 code:"
    assert out[1:3] == ["  /opt/bin/tool00 (x86-64)", "  /opt/bin/tool01 (x86-64)"]
    assert out[-1] == "  ... and 2 more"


def test_an_archive_that_is_not_a_saved_image_cannot_be_scanned(tmp_path: Path, capsys) -> None:
    plain = tmp_path / "plain.tar"
    plain.write_bytes(layer_tar({"usr/bin/x86": elf(X86_64)}))
    with pytest.raises(ScanError, match=r"neither manifest\.json nor index\.json"):
        scan_archive(str(plain))
    assert layer_scan.main([str(tmp_path / "missing.tar")]) == 1
    assert capsys.readouterr().out.startswith("refusing to push: cannot scan the image's files: cannot read")


def test_the_module_runs_as_a_script_with_only_the_standard_library(tmp_path: Path) -> None:
    """As the build runs it: by file path, without site-packages (-S), so only the standard library can load."""
    image = docker_save([BASE, {"usr/local/bin/kubectl": elf(X86_64)}], tmp_path / "image.tar")
    constructs = Path(layer_scan.__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-S", layer_scan.__file__, str(image)],
        env={"PYTHONPATH": str(constructs)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "/usr/local/bin/kubectl (x86-64)" in done.stdout


def test_the_scanner_and_the_elf_reader_import_the_standard_library_and_each_other_only() -> None:
    """verify imports the scanner at its top, and the build runs it with nothing installed: never aws_cdk, boto3."""
    from graviton.guardrails import elf

    for module in (layer_scan, elf):
        tree = ast.parse(Path(str(module.__file__)).read_text())
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names | {"__future__"}}
        assert outside <= {"graviton.guardrails.elf"}, (module.__name__, outside)
