"""EnvironmentStage: one environment's stack as a pipeline stage, guarded in its constructor."""

from __future__ import annotations

from pathlib import Path

from constructs import Construct
from graviton import GuardedStage
from graviton_app.config import AppConfig
from stacks.environment_stack import EnvironmentStack


class EnvironmentStage(GuardedStage):
    """The same `DevStack`/`TestStack`/`ProdStack` that `cdk deploy` deploys, for CDK Pipelines.

    The guard is attached here, not later: CDK Pipelines synthesizes a stage as soon as it is added.
    """

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, environment: str, root: Path) -> None:
        settings = config.environment(environment)
        super().__init__(scope, id, env={"account": settings.account, "region": settings.region})
        self.environment_name = environment
        self.stack = EnvironmentStack.for_environment(self, config=config, environment=environment, root=root)
