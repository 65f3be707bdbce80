#!/usr/bin/env python3
"""The CDK app: read the settings, build one stack per environment, apply the checks. Composition only."""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from graviton import guard
from graviton_app.config import AppConfig, ConfigError, load_config
from graviton_app.context import ContextError, read_context
from graviton_app.placement import pipeline_placement
from stacks.environment_stack import EnvironmentStack

ROOT = Path(__file__).resolve().parent


def compose(app: cdk.App, config: AppConfig, *, root: Path = ROOT) -> dict[str, EnvironmentStack]:
    """Add every environment's stack to `app`, guarded for arm64, with cdk-nag on all of them; and PipelineStack
    when its settings are given (`make deploy-pipeline` names the missing ones)."""
    guard(app)
    stacks: dict[str, EnvironmentStack] = {
        environment: EnvironmentStack.for_environment(app, config=config, environment=environment, root=root)
        for environment in config.environments
    }
    if not config.pipeline_missing:
        from stacks.pipeline_stack import PipelineStack  # CDK Pipelines loads only for an app that has one

        placement = pipeline_placement(config)
        env = cdk.Environment(account=placement.account, region=placement.region) if placement.pinned else None
        PipelineStack(app, "PipelineStack", config=config, root=root, env=env)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def main() -> None:
    try:
        context = read_context(ROOT)
        app = cdk.App(context=dict(context.values))
        compose(app, load_config(app.node.get_all_context(), root=ROOT))  # PipelineStack refuses with one line too
    except (ConfigError, ContextError) as err:
        sys.exit(str(err))
    app.synth()  # the guard reports violations itself, in one list, and the app exits 1


if __name__ == "__main__":
    main()
