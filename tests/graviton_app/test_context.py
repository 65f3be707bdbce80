"""The one context reader: cdk.json, cdk.context.json and `-c`, merged as the CDK CLI merges them."""

from __future__ import annotations

import json
import sys

import pytest
from support import run

from graviton_app.context import CLI_CONTEXT_VARIABLE, ContextError, read_context


@pytest.fixture
def root(tmp_path):
    (tmp_path / "cdk.json").write_text(json.dumps({"app": "python3 app.py", "context": {"project": "p", "n": 1}}))
    return tmp_path


def test_outside_the_cli_cdk_json_then_lookups_then_overrides(root):
    (root / "cdk.context.json").write_text(json.dumps({"n": 2, "availability-zones:1:eu-west-1": ["a"]}))
    context = read_context(root, ["project=q"], environ={})
    assert context.values == {"project": "q", "n": 2, "availability-zones:1:eu-west-1": ["a"]}
    assert context.overridden() == ["project"]


def test_under_the_cli_its_merge_is_the_context(root):
    context = read_context(root, environ={CLI_CONTEXT_VARIABLE: json.dumps({"project": "cli"})})
    assert context.values == {"project": "cli"}
    assert context.committed == {"project": "p", "n": 1}


@pytest.mark.parametrize(
    ("cdk_json", "message"),
    [
        ("{", "is not JSON"),
        ("[]", "has no 'context' object"),
        ('{"context": 3}', "has no 'context' object"),
    ],
)
def test_a_bad_cdk_json_is_one_line(tmp_path, cdk_json, message):
    (tmp_path / "cdk.json").write_text(cdk_json)
    with pytest.raises(ContextError, match=message) as caught:
        read_context(tmp_path, environ={})
    assert "\n" not in str(caught.value)


def test_an_override_without_a_value_is_refused(root):
    with pytest.raises(ContextError, match="-c 'project' must be key=value"):
        read_context(root, ["project"], environ={})


def test_a_context_too_large_for_the_environment_reaches_the_app_whole(root, tmp_path_factory):
    """The real CLI moves what does not fit in CDK_CONTEXT_JSON (128 KiB) to a file; every key still arrives."""
    seen = tmp_path_factory.mktemp("seen") / "context.json"
    app = (
        f'{sys.executable} -c "import json, pathlib; from graviton_app.context import read_context; '
        f"pathlib.Path('{seen}').write_text(json.dumps(dict(read_context(pathlib.Path('.')).values)))\""
    )
    large = {f"large{i}": str(i) * 60_000 for i in range(4)}  # one argument may hold at most 128 KiB
    overrides = [arg for key, value in large.items() for arg in ("-c", f"{key}={value}")]
    run(["cdk", "synth", "--app", app, "--output", str(root / "cdk.out"), *overrides], cwd=root)
    values = json.loads(seen.read_text())
    assert {key: values.get(key) for key in large} == large
    assert values["project"] == "p"
