"""EnvironmentStack: everything one environment (dev, test or prod) runs, on Graviton."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_kms as kms

from constructs import Construct
from graviton import AppConfig, ArmImageBuild, ArmImageFunction, ImageRepository


class EnvironmentStack(Stack):
    """One environment: per service an ECR repository, a native ARM image build and its workloads."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        environment: str,
        root: Path,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        settings = config.environment(environment)
        Tags.of(self).add("project", config.project)
        Tags.of(self).add("environment", environment)
        key = kms.Key(self, "BuildKey", enable_key_rotation=True, description="image build artifacts")
        for service in config.services:
            repository = ImageRepository(
                self,
                f"{service.construct_id}Repository",
                repository_name=f"{config.project}-{environment}-{service.name}",
                retain=environment == "prod",
            ).repository
            build = ArmImageBuild(
                self,
                f"{service.construct_id}Build",
                repository=repository,
                source_dir=root / service.source_dir,
                dockerfile=service.dockerfile,
                encryption_key=key,
            )
            if "lambda" in service.targets:
                ArmImageFunction(
                    self,
                    f"{service.construct_id}Function",
                    repository=repository,
                    tag=build.image_tag,
                    memory_mb=settings.lambda_memory_mb,
                    timeout=Duration.seconds(settings.lambda_timeout_seconds),
                    environment={"POWERTOOLS_SERVICE_NAME": service.name, "ENVIRONMENT": environment},
                )
