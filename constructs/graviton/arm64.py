"""The CDK objects every arm64 construct is built from: one choice each, made here."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from graviton.constants import (
    CUSTOM_RESOURCE_TIMEOUT_MINUTES,
    DEFAULT_BUILD_TIMEOUT_MINUTES,
    DEFAULT_LAMBDA_TIMEOUT_SECONDS,
    HANDLER_RUNTIME_NAME,
    LOG_RETENTION_DAYS,
)

LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
# Amazon Linux 2023 aarch64 image: ships Docker with buildx, runs natively on Graviton.
BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
BUILD_COMPUTE = codebuild.ComputeType.SMALL
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
assert HANDLER_RUNTIME.name == HANDLER_RUNTIME_NAME, "the Powertools layer parameter names the runtime"

DEFAULT_LAMBDA_TIMEOUT = Duration.seconds(DEFAULT_LAMBDA_TIMEOUT_SECONDS)
DEFAULT_BUILD_TIMEOUT = Duration.minutes(DEFAULT_BUILD_TIMEOUT_MINUTES)
CUSTOM_RESOURCE_TIMEOUT = Duration.minutes(CUSTOM_RESOURCE_TIMEOUT_MINUTES)
DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def log_retention(days: int) -> logs.RetentionDays:
    """CloudWatch's retention period of `days` (one of `LOG_RETENTION_DAYS`) as CDK's enum member."""
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"log retention must be one of {', '.join(map(str, LOG_RETENTION_DAYS))} days, not {days}")
    return _RETENTION[days]


_RETENTION = {
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
