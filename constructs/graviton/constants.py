"""Every arm64 value and construct default the library relies on, in one place. Standard library only: the app's
settings and the commands read these too; the CDK objects built from them are in `graviton.arm64`."""

from __future__ import annotations

PLATFORM = "linux/arm64"
# Build arguments buildx derives from --platform; nobody may set them.
PLATFORM_ARGS = frozenset({"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM"})

# Powertools for the handlers: AWS's arm64 layer for this exact version (pinned in docker/api too).
POWERTOOLS_VERSION = "3.37.0"
HANDLER_RUNTIME_NAME = "python3.14"
POWERTOOLS_LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/{HANDLER_RUNTIME_NAME}/{POWERTOOLS_VERSION}"

# A container service (ECS, EKS) listens here, answers GET /health and runs as this non-root user, unless the
# service says otherwise (`graviton.workloads.container_settings`).
CONTAINER_PORT = 8080
HEALTH_PATH = "/health"
CONTAINER_USER = "10001:10001"

# CloudWatch Logs retention periods, in days (the only values it accepts).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653)

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

# Untagged images are leftovers of failed pushes: they expire after a few days.
UNTAGGED_IMAGE_DAYS = 3
# A candidate image is needed only from its push to the end of its build (BUILD_TIMEOUT_MINUTES at most).
CANDIDATE_IMAGE_DAYS = 1
# Uploaded sources only feed one build; the image is the artifact.
BUILD_SOURCES_DAYS = 7
# CloudFormation waits one hour at most for a custom resource: builds get 50 minutes at most, the framework 55.
CUSTOM_RESOURCE_TIMEOUT_MINUTES = 60
BUILD_TIMEOUT_MINUTES = (5, 50)

# Construct defaults, documented on each construct's parameters (and the settings that feed them).
DEFAULT_LAMBDA_MEMORY_MB = 512
DEFAULT_LAMBDA_TIMEOUT_SECONDS = 10
DEFAULT_BUILD_TIMEOUT_MINUTES = 30
DEFAULT_LOG_RETENTION_DAYS = 30
DEFAULT_FARGATE_CPU = 256
DEFAULT_FARGATE_MEMORY_MB = 512
DEFAULT_MIN_TASKS = 1
DEFAULT_MAX_TASKS = 2
DEFAULT_EKS_VERSION = "1.35"
DEFAULT_EKS_INSTANCE_TYPES = ("t4g.medium",)
DEFAULT_EKS_MIN_NODES = 1
DEFAULT_EKS_MAX_NODES = 3
