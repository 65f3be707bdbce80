"""Without its settings the app leaves PipelineStack out, and `make deploy-pipeline` says which keys are missing."""

from __future__ import annotations

import json
import sys

import pytest
from support import PIPELINE_SETTINGS, ROOT, pipeline_context, repo_context, run

from graviton_app.config import load_config
from graviton_app.placement import needs_cross_account_keys, pipeline_placement

CHECK = [sys.executable, "-m", "graviton_commands.pipeline_settings"]
MISSING_BOTH = (
    "cdk.json: PipelineStack needs 'pipeline_connection_arn', 'pipeline_repository'; commit them to cdk.json: the"
    " pipeline synthesizes from the repository, and its first self-mutation would drop a setting given with -c\n"
)


def one_line_error(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_without_settings_the_app_has_no_pipeline_stack(synthesized):
    assert "pipeline_connection_arn" not in repo_context()
    assert synthesized.app.node.try_find_child("PipelineStack") is None
    assert not (synthesized.outdir / "PipelineStack.template.json").exists()
    assert synthesized.error is None


def test_the_check_names_every_missing_key_in_one_line():
    assert one_line_error(run([*CHECK, "--root", str(ROOT)])) == MISSING_BOTH


def test_the_check_names_only_the_keys_still_missing():
    repository = f"pipeline_repository={PIPELINE_SETTINGS['pipeline_repository']}"
    assert one_line_error(run([*CHECK, "-c", repository])) == (
        "cdk.json: PipelineStack needs 'pipeline_connection_arn'; commit them to cdk.json: the pipeline synthesizes"
        " from the repository, and its first self-mutation would drop a setting given with -c\n"
    )


def test_a_bad_setting_is_one_line_naming_it():
    error = one_line_error(run([*CHECK, "-c", "pipeline_connection_arn=github", "-c", "pipeline_repository=a/b"]))
    assert error.startswith("-c pipeline_connection_arn: 'pipeline_connection_arn' = \"github\" is not allowed: ")


def committed_root(tmp_path, context: dict, zones: dict | None = None):
    """A repository whose cdk.json (and cdk.context.json) hold `context`, with the real docker/ folder."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cdk.json").write_text(json.dumps({"context": context}))
    (tmp_path / "docker").symlink_to(ROOT / "docker")
    if zones is not None:
        (tmp_path / "cdk.context.json").write_text(json.dumps(zones))
    return tmp_path


def test_committed_settings_pass_the_check(tmp_path):
    root = committed_root(tmp_path, pipeline_context())
    result = run([*CHECK, "--root", str(root)])
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"PipelineStack: {PIPELINE_SETTINGS['pipeline_repository']}@{PIPELINE_SETTINGS['pipeline_branch']} via"
        f" {PIPELINE_SETTINGS['pipeline_connection_arn']}\n"
    )
    assert result.stderr == ""


def test_settings_given_only_with_c_are_refused_because_the_pipeline_would_drop_them():
    required = [
        arg
        for key in ("pipeline_connection_arn", "pipeline_repository")
        for arg in ("-c", f"{key}={PIPELINE_SETTINGS[key]}")
    ]
    assert one_line_error(run([*CHECK, *required])) == (
        "cdk.json: 'pipeline_connection_arn', 'pipeline_repository' set with -c only; commit them to cdk.json: the"
        " pipeline synthesizes from the repository, and its first self-mutation would drop a setting given with -c\n"
    )


def test_a_pinned_environment_needs_its_zones_in_the_committed_context(tmp_path):
    context = pipeline_context(environments=environments(dev="111111111111"))
    assert one_line_error(run([*CHECK, "--root", str(committed_root(tmp_path / "a", context))])).startswith(
        "cdk.context.json: no availability zones for account=111111111111:region=eu-west-1; run make synth once"
    )
    zones = {"availability-zones:account=111111111111:region=eu-west-1": ["eu-west-1a", "eu-west-1b"]}
    assert run([*CHECK, "--root", str(committed_root(tmp_path / "b", context, zones))]).returncode == 0


PLACEMENT = (
    "cdk.json: PipelineStack needs an account and a region because environments.prod sets one; "
    "set 'pipeline_account' and 'pipeline_region' (or dev's 'account' and 'region')"
)


def test_a_pinned_environment_needs_a_pinned_pipeline_one_line():
    required = [
        arg
        for key in ("pipeline_connection_arn", "pipeline_repository")
        for arg in ("-c", f"{key}={PIPELINE_SETTINGS[key]}")
    ]
    pinned = json.dumps(environments(prod="222222222222"))
    assert one_line_error(run([*CHECK, *required, "-c", f"environments={pinned}"])) == PLACEMENT + "\n"
    placed = ["-c", "pipeline_account=111111111111", "-c", "pipeline_region=eu-west-1"]
    placed_line = one_line_error(run([*CHECK, *required, "-c", f"environments={pinned}", *placed]))
    assert "set with -c only" in placed_line  # placed now; only the -c-only settings are left to refuse


def test_python_app_py_refuses_an_unplaceable_pipeline_in_one_line(tmp_path):
    context = pipeline_context(environments=environments(prod="222222222222"))
    result = run([sys.executable, "app.py"], env={"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip() and "!!" not in line] == [PLACEMENT]


def test_make_deploy_pipeline_stops_before_cdk_with_the_missing_keys():
    # -o: take setup as done, so the test never installs anything
    result = run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed", "deploy-pipeline"]
    )
    assert result.returncode != 0
    assert result.stderr.startswith(MISSING_BOTH)
    assert "cdk deploy" not in result.stdout + result.stderr


def config_with(**overrides):
    return load_config(pipeline_context(**overrides), root=ROOT)


def environments(**accounts: str | None) -> dict:
    """The repo's environments with some pinned; promotion follows the pins (both pinned or neither)."""
    envs = {name: dict(settings) for name, settings in repo_context()["environments"].items()}
    for name, account in accounts.items():
        if account:
            envs[name].update(account=account, region="eu-west-1")
    for name, settings in envs.items():
        source = envs.get(settings.get("images_from") or "")
        if source is None or bool(settings.get("account")) == bool(source.get("account")):
            continue
        if name in accounts:
            settings.pop("images_from")  # pinned on its own: it builds its own images
        else:
            settings.update(account=source["account"], region=source["region"])  # runs in its source's account
    return envs


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, None),
        ({"environments": environments(dev="111111111111")}, ("111111111111", "eu-west-1")),
        (
            {
                "environments": environments(dev="111111111111"),
                "pipeline_account": "333333333333",
                "pipeline_region": "us-east-1",
            },
            ("333333333333", "us-east-1"),
        ),
    ],
)
def test_the_pipeline_lives_in_its_own_settings_else_devs_else_anywhere(overrides, expected):
    placement = pipeline_placement(config_with(**overrides))
    found = (placement.account, placement.region) if placement.pinned else None
    assert found == expected


@pytest.mark.parametrize(
    ("overrides", "cross_account"),
    [
        ({}, False),
        ({"environments": environments(dev="111111111111", test="111111111111", prod="111111111111")}, False),
        ({"environments": environments(dev="111111111111")}, False),
        ({"environments": environments(dev="111111111111", prod="222222222222")}, True),
        ({"environments": environments(prod="222222222222")}, True),
    ],
)
def test_cross_account_keys_only_when_an_environment_is_in_another_account(overrides, cross_account):
    assert needs_cross_account_keys(config_with(**overrides)) is cross_account
