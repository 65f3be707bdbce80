"""The session helper's region: cdk.json's, else AWS_REGION, else boto3's own sources (AWS_DEFAULT_REGION, profile)."""

from __future__ import annotations

import pytest
from support import ROOT, run

from graviton_commands import aws
from graviton_commands.cli import Refusal


@pytest.mark.parametrize(
    ("configured", "variables", "expected"),
    [
        ("eu-central-1", {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"}, "eu-central-1"),
        (None, {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "us-east-1"}, "eu-west-2"),
        (None, {"AWS_REGION": "eu-west-2"}, "eu-west-2"),
        (None, {"AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
    ],
    ids=["cdk.json-first", "AWS_REGION-before-AWS_DEFAULT_REGION", "AWS_REGION-alone", "boto3-default"],
)
def test_the_region_comes_from_cdk_json_then_aws_region_then_boto3(
    no_aws, monkeypatch, configured, variables, expected
):
    from moto import mock_aws  # fake credentials and an in-process STS: GetCallerIdentity answers

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        connection = aws.connect("dev", region=configured, account=None)
    assert connection.region == expected
    assert connection.client("sts").meta.region_name == expected


def test_no_region_anywhere_names_every_place_one_could_come_from(no_aws):
    with pytest.raises(Refusal) as refused:
        aws.connect("dev", region=None, account=None)
    assert str(refused.value) == (
        "no AWS region: environment 'dev' sets no 'region' in cdk.json and neither AWS_REGION, AWS_DEFAULT_REGION nor"
        " the profile names one"
    )


def test_a_command_takes_aws_region(no_aws, monkeypatch):
    """docker-push with AWS_REGION only gets past the region to the credentials (none here)."""
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = run([str(ROOT / "scripts" / "docker-push.sh"), "dev", "api"])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("docker-push: no AWS credentials found;"), result.stderr
