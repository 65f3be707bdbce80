"""Graviton Guarantee: CDK constructs that ship containers to AWS Graviton (arm64) only."""

from graviton.alarms import AlarmTopic, FunctionAlarms
from graviton.config import AppConfig, ConfigError, EnvironmentConfig, ServiceConfig, load_config
from graviton.fargate_service import ArmFargateService
from graviton.function import ArmImageFunction
from graviton.http_api import FunctionHttpApi
from graviton.image_build import ArmImageBuild
from graviton.network import EnvironmentNetwork
from graviton.repository import ImageRepository

__all__ = [
    "AlarmTopic",
    "AppConfig",
    "ArmFargateService",
    "ArmImageBuild",
    "ArmImageFunction",
    "ConfigError",
    "EnvironmentConfig",
    "EnvironmentNetwork",
    "FunctionAlarms",
    "FunctionHttpApi",
    "ImageRepository",
    "ServiceConfig",
    "load_config",
]
