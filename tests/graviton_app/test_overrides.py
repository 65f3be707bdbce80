"""Dotted `-c` keys change one setting inside cdk.json's value and keep the rest, in the one context reader."""

from __future__ import annotations

import copy
import json
import sys

import pytest
from support import ROOT, repo_context, run

from graviton_app.config import load_config
from graviton_app.context import CLI_CONTEXT_VARIABLE, ContextError, read_context
from graviton_commands.cost.usage import load_usage

COMMITTED = repo_context()
ENVIRONMENTS = list(COMMITTED["environments"])
SERVICES = [service["name"] for service in COMMITTED["services"]]
FIRST = ENVIRONMENTS[0]
REGION = "eu-west-1"


def config_with(*overrides: str, environ: dict | None = None):
    return load_config(read_context(ROOT, overrides, environ=environ or {}).values, root=ROOT)


def test_a_dotted_key_sets_one_environment_setting_and_keeps_every_environment(capsys):
    config = config_with(f"environments.{FIRST}.region={REGION}")
    assert capsys.readouterr().err == ""  # it drops nothing: no warning
    assert list(config.environments) == ENVIRONMENTS
    assert config.environments[FIRST].region == REGION
    expected = load_config(COMMITTED, root=ROOT)
    for name in ENVIRONMENTS:
        changed = {"region"} if name == FIRST else set()
        unchanged = set(type(expected.environments[name]).model_fields) - changed
        for key in unchanged:
            assert getattr(config.environments[name], key) == getattr(expected.environments[name], key), (name, key)


def test_a_dotted_key_addresses_a_service_by_name():
    last = SERVICES[-1]
    config = config_with(f"services.{last}.targets=" + json.dumps(["ecs"]))
    assert [service.name for service in config.services] == SERVICES
    assert config.service(last).targets == ["ecs"]
    expected = load_config(COMMITTED, root=ROOT)
    for name in SERVICES[:-1]:
        assert config.service(name) == expected.service(name)


def test_values_are_json_but_text_settings_keep_their_text():
    config = config_with(
        f"environments.{FIRST}.usage.lambda_requests=7",
        f"environments.{FIRST}.account=123456789012",
        f"environments.{FIRST}.region={REGION}",
        *(f"environments.{name}.account=123456789012" for name in ENVIRONMENTS[1:]),
        *(f"environments.{name}.region={REGION}" for name in ENVIRONMENTS[1:]),
    )
    settings = config.environments[FIRST]
    assert settings.usage.lambda_requests == 7
    assert settings.account == "123456789012"  # digits, kept as the text an account id is
    committed_usage = COMMITTED["environments"][FIRST].get("usage", {})
    for key, value in committed_usage.items():
        if key != "lambda_requests":
            assert getattr(settings.usage, key) == value


def test_cdk_json_value_is_left_as_committed():
    before = copy.deepcopy(COMMITTED)
    context = read_context(ROOT, [f"environments.{FIRST}.region={REGION}"], environ={})
    assert context.committed == before
    assert context.overridden() == ["environments"]


def test_under_the_cdk_cli_the_dotted_key_it_passes_through_is_applied():
    """The CDK CLI hands `-c environments.dev.region=...` to the app as one top-level key of CDK_CONTEXT_JSON."""
    given = {**COMMITTED, f"environments.{FIRST}.region": REGION}
    config = config_with(environ={CLI_CONTEXT_VARIABLE: json.dumps(given)})
    assert list(config.environments) == ENVIRONMENTS
    assert config.environments[FIRST].region == REGION


def test_every_command_reads_the_dotted_key_alike():
    usage = load_usage(ROOT / "cdk.json", [f"environments.{FIRST}.usage.lambda_requests=7"])
    assert list(usage) == ENVIRONMENTS
    assert usage[FIRST].lambda_requests == 7


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            f"environments.{FIRST}.regio=x",
            f"-c environments.{FIRST}.regio=x: 'regio' is not a setting of environments.{FIRST}; allowed keys: account,"
            " region, ",
        ),
        (
            "environment.dev.region=x",
            "-c environment.dev.region=x: 'environment' is not a setting at the top level; allowed keys: project,"
            " environments, services, ",
        ),
        (
            "environments.qa.region=x",
            f"-c environments.qa.region=x: environments has no 'qa'; it has: {', '.join(ENVIRONMENTS)}",
        ),
        (
            "services.no-such-service.targets=x",
            f"-c services.no-such-service.targets=x: services has no item named 'no-such-service'; named:"
            f" {', '.join(SERVICES)}",
        ),
        (
            f"environments.{FIRST}.region.name=x",
            f"-c environments.{FIRST}.region.name=x: 'environments.{FIRST}.region' is one value, with no settings"
            " inside; give it whole",
        ),
    ],
    ids=["setting", "top-level", "environment", "service", "inside-a-value"],
)
def test_a_path_the_settings_do_not_have_is_refused_in_one_line(override, expected):
    with pytest.raises(ContextError) as refused:
        read_context(ROOT, [override], environ={})
    assert str(refused.value).startswith(expected)
    assert "\n" not in str(refused.value)


def test_a_whole_override_that_drops_environments_warns_once(capsys):
    kept = {FIRST: COMMITTED["environments"][FIRST]}
    context = read_context(ROOT, ["environments=" + json.dumps(kept)], environ={})
    assert list(context.values["environments"]) == [FIRST]
    dropped = ", ".join(ENVIRONMENTS[1:])
    assert capsys.readouterr().err.splitlines() == [
        f"warning: -c environments drops {dropped} from cdk.json; use -c environments.{FIRST}.<key>=VALUE to change"
        " one setting"
    ]


def test_a_whole_override_that_drops_services_names_them(capsys):
    if len(SERVICES) < 2:
        pytest.skip("cdk.json has one service: an override keeping one drops none")
    kept = [COMMITTED["services"][0]]
    read_context(ROOT, ["services=" + json.dumps(kept)], environ={})
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"warning: -c services drops {', '.join(SERVICES[1:])} from cdk.json;")


def test_python_app_py_refuses_a_bad_dotted_value_in_one_line(tmp_path):
    given = {**COMMITTED, f"environments.{FIRST}.region": "mars-1"}
    result = run([sys.executable, "app.py"], env={CLI_CONTEXT_VARIABLE: json.dumps(given), "CDK_OUTDIR": str(tmp_path)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.endswith(
        f"'environments.{FIRST}.region' = \"mars-1\" is not allowed: must be an AWS region such as 'us-east-1' or"
        " 'eu-west-1'"
    )
