"""checkov, the second scanner, over every synthesized template: zero failed checks, and every skip one check on one
resource with its reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support import ROOT

from graviton.checkov import MIN_REASON_LENGTH

CHECKOV_PYTHON = ROOT / ".venv" / "checkov" / "bin" / "python"
# A bucket with nothing set (no logging, versioning or public access block), and the same with one check skipped in
# the form the library writes: the scan must fail the first and honour the skip on the second.
BAD_TEMPLATE = {
    "Resources": {
        "PlainBucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "SkippedBucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {},
            "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "a reason long enough to count"}]}},
        },
    }
}


def templates(outdir: Path) -> dict[Path, Path]:
    """Every CloudFormation template of a cloud assembly, its stages' assemblies included: path in it -> file."""
    return {path.relative_to(outdir): path for path in sorted(outdir.rglob("*.template.json"))}


@pytest.fixture(scope="module")
def scan(synthesized, pipeline_synth, tmp_path_factory) -> dict:
    """One checkov run over every distinct template of the pipeline app (the three environments with their nested
    stacks and the EKS variant, PipelineStack and its stages' assemblies) and of the plain app, and BAD_TEMPLATE:
    copied under one root, templates only, so checkov loads its checks once and walks no Lambda assets."""
    if not CHECKOV_PYTHON.exists():
        pytest.fail(f"{CHECKOV_PYTHON} is missing: run make setup")
    root = tmp_path_factory.mktemp("checkov")
    # A template checkov has seen once it need not see again: a stage's nested stacks are byte for byte the
    # environment's own (PortableNestedStack), and the plain app's templates the pipeline app's.
    seen: set[bytes] = set()
    for name, outdir in (("pipeline", pipeline_synth.outdir), ("app", synthesized.outdir)):
        for relative, path in templates(outdir).items():
            content = path.read_bytes()
            if content not in seen:
                seen.add(content)
                (root / name / relative).parent.mkdir(parents=True, exist_ok=True)
                (root / name / relative).write_bytes(content)
    (root / "bad").mkdir()
    (root / "bad" / "bad.template.json").write_text(json.dumps(BAD_TEMPLATE))
    result = subprocess.run(
        [str(CHECKOV_PYTHON), str(ROOT / "tests" / "checkov_scan.py"), str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads(result.stdout)
    found = [
        {**check, "outcome": outcome}
        for report in output["reports"]
        for outcome in ("passed", "failed", "skipped")
        for check in report["results"].get(f"{outcome}_checks", [])
    ]
    return {"root": root, "checks": set(output["checks"]), "results": found}


def ours(scan: dict, outcome: str) -> list[dict]:
    """The results for the app's templates (not BAD_TEMPLATE) with this outcome."""
    bad = str(scan["root"] / "bad")
    return [r for r in scan["results"] if r["outcome"] == outcome and not r["file_abs_path"].startswith(bad)]


def test_checkov_finds_no_failed_check_in_any_template(scan):
    failed = [
        f"{Path(r['file_abs_path']).relative_to(scan['root'])}: {r['resource']} {r['check_id']} ({r['check_name']})"
        for r in ours(scan, "failed")
    ]
    assert failed == []


def test_checkov_scanned_every_template(scan, synthesized, pipeline_synth):
    """Every template with a resource of a type checkov checks, in PipelineStack's assembly and its stages', and in
    the plain app's: itself, or a template with the same content."""
    results = ours(scan, "passed") + ours(scan, "skipped")
    checked_types = {r["resource"].split(".", 1)[0] for r in results}
    scanned = {Path(r["file_abs_path"]).read_bytes() for r in results}
    outdirs = [pipeline_synth.outdir, synthesized.outdir]
    expected = {
        f"{relative}": path.read_bytes()
        for outdir in outdirs
        for relative, path in templates(outdir).items()
        if {r["Type"] for r in json.loads(path.read_text()).get("Resources", {}).values()} & checked_types
    }
    assert any(name.startswith("assembly-") for name in expected), "the stages' assemblies are there"
    assert [name for name, content in expected.items() if content not in scanned] == []


def test_checkov_fails_a_bad_template_and_honours_a_skip_in_metadata(scan):
    bad = [r for r in scan["results"] if r["file_abs_path"].startswith(str(scan["root"] / "bad"))]
    failed = {(r["resource"], r["check_id"]) for r in bad if r["outcome"] == "failed"}
    assert ("AWS::S3::Bucket.PlainBucket", "CKV_AWS_18") in failed
    assert ("AWS::S3::Bucket.SkippedBucket", "CKV_AWS_18") not in failed
    assert ("AWS::S3::Bucket.SkippedBucket", "CKV_AWS_18") in {
        (r["resource"], r["check_id"]) for r in bad if r["outcome"] == "skipped"
    }


def test_every_skip_names_one_known_check_with_a_specific_reason(scan):
    skipped_by_checkov = {
        (r["file_abs_path"], r["resource"].split(".", 1)[1], r["check_id"]) for r in ours(scan, "skipped")
    }
    skips = 0
    for path in sorted((scan["root"]).rglob("*.template.json")):
        if path.parent.name == "bad":
            continue
        for logical_id, resource in json.loads(path.read_text()).get("Resources", {}).items():
            entries = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
            ids = [entry.get("id") for entry in entries]
            where = f"{path.relative_to(scan['root'])} {logical_id}"
            assert len(ids) == len(set(ids)), f"{where}: a check skipped twice"
            for entry in entries:
                skips += 1
                assert set(entry) == {"id", "comment"}, f"{where}: {entry}"
                assert entry["id"] in scan["checks"], f"{where}: {entry['id']} is no checkov check"
                assert len(entry["comment"].strip()) >= MIN_REASON_LENGTH, f"{where}: {entry['id']} needs a reason"
                # A skip of a check that does not apply to the resource's type would silence nothing.
                assert (str(path), logical_id, entry["id"]) in skipped_by_checkov, f"{where}: {entry['id']} unused"
    assert skips > 0


def test_no_checkov_configuration_skips_checks_globally():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [f for f in tracked.splitlines() if Path(f).name in (".checkov.yaml", ".checkov.yml")]
    makefile = (ROOT / "Makefile").read_text()
    assert "checkov -d cdk.out" in makefile
    assert "--skip-check" not in makefile and "--soft-fail" not in makefile
