#!/usr/bin/env python3
"""The CDK app: read config, build one stack per environment, apply the checks. Composition only."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from graviton import AppConfig, ConfigError, load_config
from graviton.guard import GuardViolationError, guard
from graviton.pipeline import pipeline_environment
from stacks import EnvironmentStack, PipelineStack

ROOT = Path(__file__).resolve().parent


def compose(app: cdk.App, config: AppConfig, *, root: Path = ROOT) -> dict[str, EnvironmentStack]:
    """Add every environment's stack to `app`, guarded for arm64, with cdk-nag on all of them; and PipelineStack
    when its settings are given (`make deploy-pipeline` names the missing ones)."""
    guard(app)
    stacks = {
        environment: EnvironmentStack.for_environment(app, config=config, environment=environment, root=root)
        for environment in config.environments
    }
    if not config.pipeline_missing:
        PipelineStack(app, "PipelineStack", config=config, root=root, env=pipeline_environment(config))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def new_app() -> cdk.App:
    """An App with cdk.json's context: the CLI passes it in CDK_CONTEXT_JSON, `python app.py` reads it here."""
    if "CDK_CONTEXT_JSON" in os.environ:
        return cdk.App()
    return cdk.App(context=json.loads((ROOT / "cdk.json").read_text()).get("context", {}))


def main() -> None:
    app = new_app()
    try:
        config = load_config(app.node.get_all_context(), root=ROOT)
        compose(app, config)  # PipelineStack refuses settings CDK Pipelines cannot place, with one line too
    except ConfigError as err:
        sys.exit(str(err))
    try:
        app.synth()
    except GuardViolationError as err:
        sys.exit(str(err))


if __name__ == "__main__":
    main()
