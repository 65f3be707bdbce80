"""Every arm64 constant the project relies on, in one place."""

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

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
# lambda: an arm64 container Lambda behind an HTTP API; ecs: an always-on Fargate ARM64 service behind an ALB;
# eks: applied to the environment's EKS cluster when it has one.
SERVICE_TARGETS = ("lambda", "ecs", "eks")
# Every container service (ECS, EKS) listens here and answers GET /health.
CONTAINER_PORT = 8080
HEALTH_PATH = "/health"

# CloudWatch Logs retention: the days it accepts -> CDK's names for them.
LOG_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

# Fargate's task sizes: vCPU units -> the memory (MiB) each allows.
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}

# EKS: managed node groups on Graviton with the AL2023 arm64 AMI, set explicitly (unset lets CDK pick AL2).
EKS_AMI_TYPE = "AL2023_ARM_64_STANDARD"
DEFAULT_EKS_VERSION = "1.35"
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
OUTPUT_URL = "Url"
OUTPUT_EKS_CLUSTER = "EksClusterName"
OUTPUT_EKS_APPLY_PROJECT = "EksApplyProject"

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
