"""Every arm64 constant the project relies on, in one place."""

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_lambda as lambda_

PLATFORM = "linux/arm64"
# Build arguments buildx derives from --platform; nobody may set them.
PLATFORM_ARGS = frozenset({"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM"})
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# Amazon Linux 2023 aarch64 image: ships Docker with buildx, runs natively on Graviton.
BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
BUILD_COMPUTE = codebuild.ComputeType.SMALL

# Powertools for the image-build handler: AWS's arm64 layer for this exact version (pinned in docker/api too).
POWERTOOLS_VERSION = "3.37.0"
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/{HANDLER_RUNTIME.name}/{POWERTOOLS_VERSION}"

ENVIRONMENT_NAMES = ("dev", "test", "prod")
SERVICE_TARGETS = ("lambda",)
DOCKER_ROOT = "docker"


def stack_name(environment: str) -> str:
    """`dev` -> `DevStack`: the name users type in `cdk deploy DevStack`."""
    return f"{environment.capitalize()}Stack"


def output_key(service_id: str, what: str) -> str:
    """`ApiBuildProject`: the stack output `docker-push` reads for one service."""
    return f"{service_id}{what}"


# Stack outputs shared by EnvironmentStack and `docker-push`.
OUTPUT_SOURCES_BUCKET = "BuildSourcesBucket"
OUTPUT_BUILD_PROJECT = "BuildProject"
OUTPUT_REPOSITORY_URI = "RepositoryUri"
OUTPUT_IMAGE_URI = "ImageUri"

# Untagged images are leftovers of failed pushes: they expire after a few days.
UNTAGGED_IMAGE_DAYS = 3
# Uploaded sources only feed one build; the image is the artifact.
BUILD_SOURCES_DAYS = 7

# Construct defaults, documented on each construct's parameters.
DEFAULT_LAMBDA_MEMORY_MB = 512
DEFAULT_LAMBDA_TIMEOUT = Duration.seconds(10)
DEFAULT_BUILD_TIMEOUT = Duration.minutes(30)
# CloudFormation waits one hour at most for a custom resource: builds get 50 minutes, the framework 55.
CUSTOM_RESOURCE_TIMEOUT = Duration.hours(1)
BUILD_TIMEOUT_MINUTES = (5, 50)
DEFAULT_MAX_IMAGE_COUNT = 30
