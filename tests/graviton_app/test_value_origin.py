"""A bad value is reported with where it came from: `-c <key>`, cdk.context.json or cdk.json."""

from __future__ import annotations

import json
import sys

import pytest
from support import ROOT, repo_context, run

from graviton_app.config import ConfigError, load_config
from graviton_app.context import CLI_CONTEXT_VARIABLE, read_context

COMMITTED = repo_context()
FIRST = next(iter(COMMITTED["environments"]))
LAST_SERVICE = COMMITTED["services"][-1]["name"]
REGION_REFUSED = "is not allowed: must be an AWS region such as 'us-east-1' or 'eu-west-1'"


def error_for(overrides=(), *, root=ROOT, config_file=None, environ=None) -> str:
    context = read_context(root, overrides, config_file=config_file, environ=environ or {})
    with pytest.raises(ConfigError) as refused:
        load_config(context.values, root=ROOT, origin=context.origin)
    return str(refused.value)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            f"environments.{FIRST}.region=mars-1",
            f"-c environments.{FIRST}.region: 'environments.{FIRST}.region' = \"mars-1\" {REGION_REFUSED}",
        ),
        (
            "environments=" + json.dumps({FIRST: {"region": "mars-1"}}),
            f"-c environments: 'environments.{FIRST}.region' = \"mars-1\" {REGION_REFUSED}",
        ),
        (
            f"services.{LAST_SERVICE}.targets=" + json.dumps(["x86"]),
            f"-c services.{LAST_SERVICE}.targets: 'services[{len(COMMITTED['services']) - 1}].targets[0]' = \"x86\"",
        ),
        ("gatekeeper_action=nope", "-c gatekeeper_action: 'gatekeeper_action' = \"nope\" is not allowed"),
        ("no_such_key=1", "-c no_such_key: unknown context key 'no_such_key'; allowed keys: project,"),
        (
            f"environments.{FIRST}.account=123456789012",
            f"-c environments.{FIRST}.account: 'environments.{FIRST}' = <dict> is not allowed: 'region' is required",
        ),
    ],
    ids=["dotted", "whole", "service", "top-level", "unknown-key", "block-check"],
)
def test_a_value_given_with_c_is_named_by_its_c_key(override, expected):
    assert error_for([override]).startswith(expected)


def test_a_value_from_cdk_json_is_named_cdk_json(tmp_path):
    config_file = tmp_path / "cdk.json"
    config_file.write_text(json.dumps({"context": {**COMMITTED, "gatekeeper_action": "nope"}}))
    assert error_for(root=tmp_path, config_file=config_file).startswith(
        "cdk.json: 'gatekeeper_action' = \"nope\" is not allowed"
    )


def test_a_value_from_cdk_context_json_is_named_cdk_context_json(tmp_path):
    (tmp_path / "cdk.context.json").write_text(json.dumps({"gatekeeper_action": "nope"}))
    error = error_for(root=tmp_path, config_file=ROOT / "cdk.json")
    assert error.startswith("cdk.context.json: 'gatekeeper_action' = \"nope\" is not allowed")


def test_cdk_json_stays_the_origin_of_what_a_dotted_key_left_alone(tmp_path):
    config_file = tmp_path / "cdk.json"
    bad = json.loads(json.dumps(COMMITTED))
    bad["environments"][FIRST]["lambda_memory_mb"] = 1
    config_file.write_text(json.dumps({"context": bad}))
    error = error_for([f"environments.{FIRST}.region=eu-west-1"], root=tmp_path, config_file=config_file)
    assert error.startswith(f"cdk.json: 'environments.{FIRST}.lambda_memory_mb' = 1 is not allowed")


def test_under_the_cdk_cli_too():
    given = {**COMMITTED, "gatekeeper_action": "nope", "aws:cdk:version-reporting": True}
    error = error_for(environ={CLI_CONTEXT_VARIABLE: json.dumps(given)})
    assert error.startswith("-c gatekeeper_action: 'gatekeeper_action' = \"nope\" is not allowed")


def test_python_app_py_names_the_c_key(tmp_path):
    """The README's example, as the CDK CLI hands it to the app."""
    given = {**COMMITTED, f"environments.{FIRST}.region": "mars-1"}
    result = run([sys.executable, "app.py"], env={CLI_CONTEXT_VARIABLE: json.dumps(given), "CDK_OUTDIR": str(tmp_path)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"-c environments.{FIRST}.region: 'environments.{FIRST}.region' = \"mars-1\" {REGION_REFUSED}"
    ]
