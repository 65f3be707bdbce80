"""GG-ELF: the machine inside Lambda assets is read from ELF headers, in folders, zips, jars and archives in them."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from graviton.guardrails import elf as elf_module
from graviton.guardrails.elf import binaries, foreign_binaries, machine
from graviton.guardrails.guard import GuardViolationError, guard
from graviton.guardrails.rules import Compliance, Resource
from graviton.guardrails.rules.pack import PACK
from graviton_commands import audit

X86_64, I386, AARCH64 = 62, 3, 183


def elf(e_machine: int, *, bits: int = 64, big_endian: bool = False) -> bytes:
    """A minimal ELF identification and the header fields up to e_machine, padded like a real shared object."""
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 2 if big_endian else 1, 1]) + bytes(9)
    return ident + struct.pack(">HH" if big_endian else "<HH", 3, e_machine) + bytes(4096)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (elf(X86_64), X86_64),
        (elf(I386, bits=32), I386),
        (elf(AARCH64), AARCH64),
        (elf(AARCH64, big_endian=True), AARCH64),  # the byte order comes from EI_DATA
        (elf(X86_64)[:19], None),  # truncated
        (b"\x7fELF" + bytes([3, 1]) + bytes(12) + struct.pack("<H", X86_64), None),  # no such ELF class
        (b"MZ\x90\x00" + bytes(14) + struct.pack("<H", X86_64), None),  # 62 at offset 18, but not ELF
    ],
)
def test_the_machine_comes_from_the_header(header, expected):
    assert machine(header[:20]) == expected


def write_layout(root: Path) -> None:
    """A function folder as a laptop bundles it: pure Python, one native wheel's .so, a text file named .so."""
    (root / "pkg" / "native").mkdir(parents=True)
    (root / "index.py").write_text("def handler(event, context): pass\n")
    (root / "pkg" / "native" / "_speedups.cpython-313-x86_64-linux-gnu.so").write_bytes(elf(X86_64))
    (root / "pkg" / "notes.so").write_bytes(b"MZ" + bytes(16) + struct.pack("<H", X86_64))


def test_a_folder_is_scanned_recursively_by_content(tmp_path):
    write_layout(tmp_path)
    assert foreign_binaries(str(tmp_path)) == (("pkg/native/_speedups.cpython-313-x86_64-linux-gnu.so", "x86-64"),)


def test_zip_jar_and_an_archive_inside_an_archive(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as jar:
        jar.writestr("native/libzstd.so", elf(X86_64))
        jar.writestr("native/libarm.so", elf(AARCH64))
    layer = tmp_path / "layer.zip"
    with zipfile.ZipFile(layer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("java/lib/zstd.jar", inner.getvalue())
        archive.writestr("bin/tool", elf(I386, bits=32))
        archive.writestr("python/lib/arm.so", elf(AARCH64))
    assert sorted(foreign_binaries(str(layer))) == [
        ("bin/tool", "i386"),
        ("java/lib/zstd.jar!native/libzstd.so", "x86-64"),
    ]
    assert len(list(binaries(layer))) == 4  # the aarch64 ones are seen and pass


def test_only_headers_are_read(tmp_path):
    """A large asset costs one 20-byte read per file, so the scan stays fast whatever the file sizes."""
    big = tmp_path / "big.bin"
    big.write_bytes(elf(AARCH64) + bytes(50_000_000))
    reads: list[int] = []

    class CountingFile:
        def __init__(self, *args, **kwargs):
            self._file = open(*args, **kwargs)  # noqa: SIM115 - closed by __exit__

        def read(self, size=-1):
            reads.append(size)
            return self._file.read(size)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(elf_module, "open", CountingFile, raising=False)  # the scan's module-level name, before builtins
        assert list(binaries(tmp_path)) == [("big.bin", AARCH64)]
    assert reads == [20]


def verdict(tmp_path: Path, type_: str):
    return PACK["GG-ELF"].check(Resource("F", type_, {}, code_assets=(str(tmp_path),)))


@pytest.mark.parametrize("type_", PACK["GG-ELF"].applies_to)
def test_rule_passes_aarch64_and_fails_anything_else(tmp_path, type_):
    (tmp_path / "arm").mkdir()
    (tmp_path / "arm" / "ok.so").write_bytes(elf(AARCH64))
    assert verdict(tmp_path / "arm", type_).compliance is Compliance.COMPLIANT
    (tmp_path / "x86").mkdir()
    (tmp_path / "x86" / "bad.so").write_bytes(elf(X86_64))
    found = verdict(tmp_path / "x86", type_)
    assert found.compliance is Compliance.NON_COMPLIANT and "x86/bad.so is x86-64" in found.found


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """One guarded app: an arm64 function bundled on an x86 laptop, and one bundled right."""
    base = tmp_path_factory.mktemp("asset-bytes")
    laptop, right = base / "laptop", base / "right"
    write_layout(laptop)
    right.mkdir()
    (right / "index.py").write_text("def handler(event, context): pass\n")
    (right / "fast.so").write_bytes(elf(AARCH64))
    app = cdk.App(outdir=str(base / "cdk.out"))
    guard(app)
    stack = cdk.Stack(app, "Bytes")
    for name, folder in (("FromLaptop", laptop), ("BundledRight", right)):
        lambda_.Function(
            stack, name, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
            code=lambda_.Code.from_asset(str(folder)), architecture=lambda_.Architecture.ARM_64,
        )  # fmt: skip
    with pytest.raises(GuardViolationError) as caught:
        app.synth()
    return caught.value


def test_an_arm64_function_with_an_x86_extension_fails_synth_naming_construct_asset_and_file(synthesized):
    (found,) = [v for v in synthesized.violations if v.rule == "GG-ELF"]
    assert "Bytes/FromLaptop/" in found.path
    assert found.found.startswith("asset.") and "pkg/native/_speedups" in found.found and "x86-64" in found.found


def test_the_function_bundled_for_arm64_passes(synthesized):
    assert all("BundledRight" not in v.path for v in synthesized.violations)


def test_audit_reads_the_code_folders_of_a_sam_template(tmp_path, capsys):
    write_layout(tmp_path / "src")
    template = tmp_path / "template.json"
    function = {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "src", "Architectures": ["arm64"]}}
    template.write_text(json.dumps({"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Fn": function}}))
    assert audit.main([str(template)]) == 1
    assert "GG-ELF" in capsys.readouterr().out


def test_only_the_optional_libyaml_binding_of_cdks_cli_layer_is_let_through(tmp_path):
    """BucketDeployment's AWS CLI layer ships PyYAML's x86-64 accelerator, which PyYAML skips when it cannot load;
    any other foreign file in that layer, or the same file in a layer of the user's, still fails."""
    (tmp_path / "awscli" / "yaml").mkdir(parents=True)
    (tmp_path / "awscli" / "yaml" / "_yaml.cpython-311-x86_64-linux-gnu.so").write_bytes(elf(X86_64))
    rule = PACK["GG-ELF"]

    def layer(path: str):
        return rule.check(Resource("L", "AWS::Lambda::LayerVersion", {}, path, code_assets=(str(tmp_path),)))

    assert layer("Site/Deploy/AwsCliLayer/Resource").compliance is Compliance.COMPLIANT
    assert layer("Site/MyLayer/Resource").compliance is Compliance.NON_COMPLIANT
    (tmp_path / "awscli" / "other.so").write_bytes(elf(X86_64))
    foreign_binaries.cache_clear()
    assert layer("Site/Deploy/AwsCliLayer/Resource").compliance is Compliance.NON_COMPLIANT
