"""Shared fixtures: the real app is synthesized once per test session."""

from __future__ import annotations

import os

# Before aws-cdk-lib starts its Node process: the tests' own small apps skip CDK's built-in CloudFormation validation,
# as the app does (app.new_app). It only warns, costs its engine's start-up in every worker and a pass over every
# template, and cfn-lint checks the same schemas in test_quality_gates.py.
os.environ["CDK_VALIDATION"] = "false"

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# support (the app, so aws-cdk-lib and its Node process) is imported where a fixture needs it, not here: xdist's
# controller process loads this file too, and runs no test.
if TYPE_CHECKING:
    from aws_cdk.assertions import Template
    from support import Synthesized


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    from support import repo_context, synthesize

    return synthesize(repo_context(), tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def dev(synthesized) -> Template:
    return synthesized.template("dev")


@pytest.fixture(scope="session")
def pipeline_synth(tmp_path_factory) -> Synthesized:
    """The app with the pipeline settings given as context: PipelineStack and its stages too."""
    from support import pipeline_context, synthesize

    return synthesize(pipeline_context(), tmp_path_factory.mktemp("pipeline.out"))


# Everything botocore could find credentials, a region or an endpoint in, besides the files `no_aws` points at.
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, region or endpoint from this machine: empty config files, no instance metadata."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
