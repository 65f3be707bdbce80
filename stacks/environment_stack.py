"""EnvironmentStack: everything one environment (dev, test or prod) runs, on Graviton."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs import Construct
from graviton import AppConfig, ArmImageBuild, ArmImageFunction, ImageRepository
from graviton.constants import (
    BUILD_SOURCES_DAYS,
    OUTPUT_BUILD_PROJECT,
    OUTPUT_IMAGE_URI,
    OUTPUT_REPOSITORY_URI,
    OUTPUT_SOURCES_BUCKET,
    output_key,
)
from graviton.nag import acknowledge


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
        sources = self._sources_bucket()
        for service in config.services:
            repository = ImageRepository(
                self,
                f"{service.construct_id}Repository",
                repository_name=f"{config.project}-{environment}-{service.name}",
                max_image_count=settings.max_image_count,
                retain=environment == "prod",
            )
            build = ArmImageBuild(
                self,
                service.build_construct_id,
                repository=repository,
                source_dir=root / service.source_dir,
                dockerfile=service.dockerfile,
                build_args=service.build_args,
                encryption_key=key,
                timeout=Duration.minutes(settings.image_build_timeout_minutes),
                sources_bucket=sources,
            )
            if "lambda" in service.targets:
                ArmImageFunction(
                    self,
                    f"{service.construct_id}Function",
                    image=build,
                    memory_mb=settings.lambda_memory_mb,
                    timeout=Duration.seconds(settings.lambda_timeout_seconds),
                    environment={"POWERTOOLS_SERVICE_NAME": service.name, "ENVIRONMENT": environment},
                )
            outputs = {
                OUTPUT_BUILD_PROJECT: build.project.project_name,
                OUTPUT_REPOSITORY_URI: build.repository.repository_uri,
                OUTPUT_IMAGE_URI: build.image_uri,
            }
            for what, value in outputs.items():
                CfnOutput(self, output_key(service.construct_id, what), value=value)
        CfnOutput(self, OUTPUT_SOURCES_BUCKET, value=sources.bucket_name)

    def _sources_bucket(self) -> s3.Bucket:
        """Where `docker-push` uploads a build context; each build reads only its own prefix."""
        bucket = s3.Bucket(
            self,
            "BuildSources",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(BUILD_SOURCES_DAYS))],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        acknowledge(
            bucket,
            "S1",
            f"holds build contexts for {BUILD_SOURCES_DAYS} days; uploads are recorded by CloudTrail, the builds in"
            " CodeBuild",
        )
        return bucket
