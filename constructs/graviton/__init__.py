"""Graviton Guarantee: CDK constructs that ship containers to AWS Graviton (arm64) only."""

from graviton.config import AppConfig, ConfigError, EnvironmentConfig, ServiceConfig, load_config
from graviton.function import ArmImageFunction
from graviton.image_build import ArmImageBuild
from graviton.repository import ImageRepository

__all__ = [
    "AppConfig",
    "ArmImageBuild",
    "ArmImageFunction",
    "ConfigError",
    "EnvironmentConfig",
    "ImageRepository",
    "ServiceConfig",
    "load_config",
]
