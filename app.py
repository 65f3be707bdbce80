#!/usr/bin/env python3
"""The CDK app: read the settings, build one stack per environment, apply the checks. Composition only.

The settings are read and checked before aws-cdk-lib loads, so a bad value is refused at once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from graviton_app.config import AppConfig, ConfigError, Origin, load_config
from graviton_app.context import ContextError, read_context
from graviton_app.placement import placement_problem

if TYPE_CHECKING:
    import aws_cdk as cdk

    from stacks.environment_stack import EnvironmentStack

ROOT = Path(__file__).resolve().parent


def settings(context: dict, *, root: Path = ROOT, origin: Origin | None = None) -> AppConfig:
    """The checked settings; ConfigError with one line for a bad value (starting with where it came from, as
    `origin` says; default: cdk.json) or a pipeline CDK could not place."""
    config = load_config(context, root=root, origin=origin)
    problem = None if config.pipeline_missing else placement_problem(config)
    if problem:
        raise ConfigError(problem)
    return config


def new_app(context: dict, **props) -> cdk.App:
    """The App, without CDK's built-in CloudFormation validation: its schema checks only warn, cost about two seconds
    of every synth, and the pinned cfn-lint runs the same registry schemas over every template in `make test`."""
    import aws_cdk as cdk

    return cdk.App(context=context, builtin_cloud_formation_validation=False, **props)


def compose(app: cdk.App, config: AppConfig, *, root: Path = ROOT) -> dict[str, EnvironmentStack]:
    """Add every environment's stack to `app`, guarded for arm64, with cdk-nag on all of them; and PipelineStack
    when its settings are given (`make deploy-pipeline` names the missing ones)."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from graviton import guard
    from graviton_app.placement import pipeline_placement
    from stacks.environment_stack import EnvironmentStack

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
        read = read_context(ROOT)
        context = dict(read.values)
        config = settings(context, origin=read.origin)
    except (ConfigError, ContextError) as err:
        sys.exit(str(err))
    app = new_app(context)
    compose(app, config)
    app.synth()  # the guard reports violations itself, in one list, and the app exits 1
    # The assembly is written. Exit now rather than through jsii's orderly shutdown, which waits about a second
    # for Node to tear down the app's heap; Node exits by itself when its stdin closes with this process.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
