"""Shared fixtures: the real app is synthesized once per test session."""

from __future__ import annotations

import ast
import atexit
import functools
import gc
import os

# Before aws-cdk-lib starts its Node process: the tests' own small apps skip CDK's built-in CloudFormation validation,
# as the app does (app.new_app). It only warns, costs its engine's start-up in every worker and a pass over every
# template, and cfn-lint checks the same schemas in test_quality_gates.py.
os.environ["CDK_VALIDATION"] = "false"

from pathlib import Path
from typing import TYPE_CHECKING

import fuzz_profiles  # noqa: F401  (Hypothesis's profiles, registered before any test loads)
import pytest

# support (the app, so aws-cdk-lib and its Node process) is imported where a fixture needs it, not here: xdist's
# controller process loads this file too, and runs no test.
if TYPE_CHECKING:
    from aws_cdk.assertions import Template
    from support import Configuration, Synthesized

    from graviton_app.config import AppConfig


# Python's cyclic garbage collector. A worker ends with ~0.9 million objects (CDK's Python side of every app, jsii
# proxies, moto, cfn-lint's schemas), and with the default thresholds it ran ~20 full collections, each walking all of
# them (~4 s of CPU per worker), then one more at exit. The tests allocate millions of short-lived objects: with a
# young generation of 20,000 instead of 700 most die before a collection sees them, and a full collection comes only
# after ~8 million net allocations (none in a run; a worker's memory stays ~0.6 GB either way). What the imports and
# the collected modules created lives as long as the worker: frozen once collection is done, no collection walks it.
# At exit, after pytest's own last collection (which reports exceptions raised in finalizers) and after jsii has
# stopped Node, everything is frozen: the process ends without walking its heap once more (~1.5 s), as nothing runs
# after that to see a difference.
gc.set_threshold(20_000, 20, 20)
atexit.register(gc.freeze)  # registered before aws-cdk-lib is imported, so it runs after jsii's own exit handler


def pytest_collection_finish() -> None:
    gc.freeze()


# The session fixtures built on the app synthesized once per process; a test module taking one of them is a user of it.
APP_FIXTURES = ("synthesized", "dev", "config", "pipeline_synth")


@functools.cache
def uses_the_app(path: Path) -> bool:
    """Whether a test module has a test or fixture taking one of APP_FIXTURES (read from its source: xdist's
    controller process, which schedules, collects nothing)."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return False
    return any(
        argument.arg in APP_FIXTURES
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and _is_test_or_fixture(node)
        for argument in node.args.args
    )


def _is_test_or_fixture(function: ast.FunctionDef) -> bool:
    """A test, or a function decorated as a fixture (`@pytest.fixture` or `@pytest.fixture(...)`): a plain helper's
    argument that happens to be named like a fixture (`config`) is not a use of it."""
    decorators = [d.func if isinstance(d, ast.Call) else d for d in function.decorator_list]
    return function.name.startswith("test") or any(ast.unparse(d).endswith("fixture") for d in decorators)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown when pytest runs without xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile` (make test), except that the modules using the synthesized app are one work unit: one worker
    synthesizes the app (~5 s) for all of them, instead of both workers once each. xdist's own `loadgroup` cannot
    do it here: with pytest 9 the group no longer reaches the node ids it schedules by."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    rootdir = config.rootpath

    class AppUsersTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "modules using the synthesized app" if uses_the_app(rootdir / module) else module

    return AppUsersTogether(config, log)


@pytest.fixture(scope="session")
def configuration(tmp_path_factory) -> Configuration:
    """What the app is synthesized with: cdk.json's configuration and a generated service per target beside its own,
    so the template tests, which assert for every service of `synthesized.config`, cover each target for a service
    no sample names, and still cover whatever services cdk.json lists."""
    from support import with_generated_services

    return with_generated_services(tmp_path_factory.mktemp("repository"))


@pytest.fixture(scope="session")
def synthesized(configuration, tmp_path_factory) -> Synthesized:
    from support import synthesize

    return synthesize(configuration.context, tmp_path_factory.mktemp("cdk.out"), root=configuration.root)


@pytest.fixture(scope="session")
def dev(synthesized) -> Template:
    return synthesized.template("dev")


@pytest.fixture(scope="session")
def config(synthesized) -> AppConfig:
    """The configuration the app was synthesized with (cdk.json's services and the generated ones)."""
    return synthesized.config


@pytest.fixture(scope="session")
def pipeline_synth(configuration, tmp_path_factory) -> Synthesized:
    """The same app with the pipeline settings given as context: PipelineStack and its stages too."""
    from support import PIPELINE_SETTINGS, synthesize

    context = {**configuration.context, **PIPELINE_SETTINGS}
    return synthesize(context, tmp_path_factory.mktemp("pipeline.out"), root=configuration.root)


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
