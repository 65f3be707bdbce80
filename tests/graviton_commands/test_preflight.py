"""preflight: `make deploy`/`make diff` refuse in one line before cdk when credentials, region, account or the
bootstrap are missing; the bootstrap against a moto server, the version as the synthesized assembly requires it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto_support import moto_server
from support import ROOT, repo_context, run

from graviton_commands import preflight
from graviton_commands.settings import read_settings

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # the account moto answers for
PARAMETER = "/cdk-bootstrap/hnb659fds/version"
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed"]


def assembly(folder: Path, *, version: int = 6, parameter: str = PARAMETER, assets_version: int = 6) -> Path:
    """A cloud assembly manifest shaped as `cdk synth` writes it: DevStack and its asset manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    needs = {"requiresBootstrapStackVersion": version, "bootstrapStackVersionSsmParameter": parameter}
    assets = {"requiresBootstrapStackVersion": assets_version, "bootstrapStackVersionSsmParameter": parameter}
    manifest = {
        "version": "48.0.0",
        "artifacts": {
            "DevStack.assets": {"type": "cdk:asset-manifest", "properties": {"file": "x.json", **assets}},
            "DevStack": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/unknown-region",
                "properties": {"templateFile": "DevStack.template.json", **needs},
                "dependencies": ["DevStack.assets"],
                "displayName": "DevStack",
            },
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Exit 2, exactly one `preflight: ` line on stderr, nothing on stdout."""
    code = preflight.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("preflight: ")
    return lines[0]


def test_the_real_assembly_names_the_bootstrap_version_and_parameter(synthesized):
    config = read_settings(ROOT).config
    for environment in config.environments:
        stack = synthesized.stacks[environment]
        needs = preflight.bootstrap_needs(synthesized.outdir, stack.stack_name)
        assert needs.version >= 6  # the least a stack with file assets needs since the modern synthesizer
        assert needs.parameter == "/cdk-bootstrap/hnb659fds/version"


def test_the_asset_manifests_need_counts_too(tmp_path):
    needs = preflight.bootstrap_needs(assembly(tmp_path, version=6, assets_version=21), "DevStack")
    assert needs.version == 21


def test_no_assembly_is_refused(capsys, no_aws, tmp_path):
    line = refusal(capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(tmp_path / "none")])
    assert line.endswith("run make synth first")


def test_an_unknown_stack_is_refused_with_the_stacks_there(capsys, no_aws, tmp_path):
    line = refusal(capsys, ["--env", "dev", "--stack", "QaStack", "--assembly", str(assembly(tmp_path))])
    assert line == f"preflight: stack 'QaStack' is not in {tmp_path}/manifest.json; stacks there: DevStack"


def test_an_unknown_environment_is_refused(capsys, no_aws, tmp_path):
    line = refusal(capsys, ["--env", "qa", "--stack", "DevStack", "--assembly", str(assembly(tmp_path))])
    assert line == "preflight: environment 'qa' is not configured; configured: dev, test, prod"


def test_no_region_is_refused(capsys, no_aws, tmp_path):
    line = refusal(capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(assembly(tmp_path))])
    assert line.startswith("preflight: no AWS region: environment 'dev' sets no 'region' in cdk.json")


def test_no_credentials_is_refused(capsys, no_aws, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    line = refusal(capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(assembly(tmp_path))])
    assert line.startswith("preflight: no AWS credentials found;")


# Against a moto server --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def ssm(moto_url: str, no_aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh moto account with credentials and a region; the test's client writes the bootstrap parameter. moto
    keeps its accounts per process, shared by every server a worker starts: emptied again after the test."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    yield boto3.client("ssm", region_name=REGION, endpoint_url=moto_url)
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()


def test_an_unbootstrapped_account_is_refused_with_the_bootstrap_command(capsys, ssm, tmp_path):
    line = refusal(capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(assembly(tmp_path))])
    assert line == (
        f"preflight: aws://{ACCOUNT}/{REGION} is not bootstrapped (no SSM parameter {PARAMETER} from the CDKToolkit"
        f" stack); run: npx cdk bootstrap aws://{ACCOUNT}/{REGION}"
    )


def test_a_bootstrap_too_old_is_refused_with_the_versions(capsys, ssm, tmp_path):
    ssm.put_parameter(Name=PARAMETER, Value="5", Type="String")
    line = refusal(capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(assembly(tmp_path))])
    assert line == (
        f"preflight: the CDKToolkit bootstrap in aws://{ACCOUNT}/{REGION} is version 5 ({PARAMETER}) but DevStack"
        f" needs at least 6; run: npx cdk bootstrap aws://{ACCOUNT}/{REGION}"
    )


def test_another_qualifier_is_read_and_named_in_the_command(capsys, ssm, tmp_path):
    ssm.put_parameter(Name=PARAMETER, Value="30", Type="String")  # the default qualifier's does not count
    folder = assembly(tmp_path, parameter="/cdk-bootstrap/team42/version")
    line = refusal(capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(folder)])
    assert line.endswith(f"run: npx cdk bootstrap aws://{ACCOUNT}/{REGION} --qualifier team42")


def test_the_account_of_other_credentials_is_refused(capsys, ssm, tmp_path):
    pinned = {"account": "210987654321", "region": REGION}
    environments = {name: {**settings, **pinned} for name, settings in repo_context()["environments"].items()}
    override = f"environments={json.dumps(environments)}"
    line = refusal(
        capsys, ["--env", "dev", "--stack", "DevStack", "--assembly", str(assembly(tmp_path)), "-c", override]
    )
    assert line == (
        f"preflight: environment 'dev' is account 210987654321 (cdk.json) but the credentials are for account"
        f" {ACCOUNT}; use credentials for 210987654321"
    )


def test_a_bootstrapped_account_passes_silently(capsys, ssm, tmp_path):
    ssm.put_parameter(Name=PARAMETER, Value="30", Type="String")
    assert preflight.main(["--env", "dev", "--stack", "DevStack", "--assembly", str(assembly(tmp_path))]) == 0
    assert capsys.readouterr() == ("", "")


# The Makefile ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["deploy", "diff"])
def test_make_runs_the_preflight_on_the_assembly_cdk_then_uses(target):
    result = run([*MAKE, "-n", target, "ENV=test"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [synth] = [n for n, line in enumerate(lines) if " synth " in line]
    [check] = [
        n for n, line in enumerate(lines) if "-m graviton_commands.preflight --env test --stack TestStack" in line
    ]
    [cdk] = [n for n, line in enumerate(lines) if f"cdk {target} --app cdk.out TestStack" in line]
    assert synth < check < cdk


def test_make_deploy_passes_require_approval_only_when_asked():
    default = run([*MAKE, "-n", "deploy", "ENV=dev"]).stdout
    assert "--require-approval" not in default  # CDK's own default: broadening
    never = run([*MAKE, "-n", "deploy", "ENV=dev", "REQUIRE_APPROVAL=never"]).stdout
    assert never.splitlines()[-1].endswith("--import-existing-resources --require-approval never")


def test_make_deploy_refuses_an_unknown_approval_level():
    result = run([*MAKE, "-n", "deploy", "ENV=dev", "REQUIRE_APPROVAL=yes"])
    assert result.returncode != 0
    assert "REQUIRE_APPROVAL=yes is not allowed; use never, any-change, broadening or destructive" in result.stderr
    assert "cdk deploy" not in result.stdout
