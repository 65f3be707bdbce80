"""Every arm64 constant the project relies on, in one place."""

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_lambda as lambda_

PLATFORM = "linux/arm64"
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# Amazon Linux 2023 aarch64 image: ships Docker with buildx, runs natively on Graviton.
BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
BUILD_COMPUTE = codebuild.ComputeType.SMALL

ENVIRONMENT_NAMES = ("dev", "test", "prod")
SERVICE_TARGETS = ("lambda",)
DOCKER_ROOT = "docker"


def stack_name(environment: str) -> str:
    """`dev` -> `DevStack`: the name users type in `cdk deploy DevStack`."""
    return f"{environment.capitalize()}Stack"


# Construct defaults, documented on each construct's parameters.
DEFAULT_LAMBDA_MEMORY_MB = 512
DEFAULT_LAMBDA_TIMEOUT = Duration.seconds(10)
DEFAULT_BUILD_TIMEOUT = Duration.minutes(30)
