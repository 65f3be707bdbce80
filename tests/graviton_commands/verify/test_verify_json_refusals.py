"""verify --json when it refuses: one JSON object on stdout (the report's shape, `ok` false, `refused` the line),
the same one line on stderr, exit 2; before AWS (arguments, settings) and at connect (credentials, region)."""

from __future__ import annotations

import json

import pytest

from graviton_commands.verify import command as verify


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    code = verify.main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    [line] = err.splitlines()
    report = json.loads(out)
    assert report["ok"] is False and report["exit_code"] == 2 and report["rows"] == []
    assert report["refused"] == line
    return report


def test_an_unknown_environment(capsys, no_aws):
    report = refused(capsys, ["--env", "qa", "--json"])
    assert (
        report["refused"] == "verify: qa: environment 'qa' is not configured in cdk.json; configured: dev, test, prod"
    )
    assert report["environment"] == "qa"


def test_a_bad_argument(capsys, no_aws):
    report = refused(capsys, ["--env", "dev", "--json", "--attempts", "0"])
    assert report["refused"].startswith("verify: --attempts must be at least 1")


def test_an_argument_argparse_refuses(capsys, no_aws):
    report = refused(capsys, ["--json", "--env", "dev", "--no-such-flag"])
    assert report["refused"] == "verify: unrecognized arguments: --no-such-flag"


def test_no_credentials_at_connect(capsys, no_aws, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    report = refused(capsys, ["--env", "dev", "--json"])
    assert report["refused"].startswith("verify: dev: no AWS credentials found;")
    assert report["environment"] == "dev" and report["aws"] is True


def test_no_region_at_connect(capsys, no_aws):
    report = refused(capsys, ["--env", "dev", "--json"])
    assert report["refused"].startswith("verify: dev: no AWS region:")


def test_a_report_says_ok_like_a_refusal_does(capsys):
    def nothing_wrong(plan):
        from graviton_commands.verify.model import OK, Row

        return [Row("arch", "api", "aarch64", "aarch64", OK)]

    assert (
        verify.main(["--env", "dev", "--no-aws", "--url", "api=http://127.0.0.1:9/", "--json"], checks=[nothing_wrong])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["ok"] is True
