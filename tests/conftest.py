"""Shared fixtures: the real app is synthesized once per test session."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template
from support import Synthesized, repo_context, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Synthesized:
    return synthesize(repo_context(), tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def dev(synthesized) -> Template:
    return synthesized.template("dev")
