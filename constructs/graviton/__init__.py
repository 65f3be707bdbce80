"""Graviton Guarantee: CDK constructs that ship containers to AWS Graviton (arm64) only.

    from graviton import guard, ArmImageBuild, ArmImageFunction, ImageRepository

Every name below is loaded on first use, so `import graviton` alone does not load aws-cdk-lib (the rules, the
manifest logic and the constants load without it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it.
_EXPORTS = {
    # The guard
    "guard": "graviton.guardrails.guard",
    "guard_report": "graviton.guardrails.guard",
    "GuardedStage": "graviton.guardrails.guard",
    "GuardViolationError": "graviton.guardrails.guard",
    # Image builds and the registry
    "ArmImageBuild": "graviton.image_build.arm_image_build",
    "PromotedImage": "graviton.image_build.promoted_image",
    "ExistingImage": "graviton.image_build.existing_image",
    "ContainerImage": "graviton.image_build.container_image",
    "ImageBuildProvider": "graviton.image_build.image_build_provider",
    "BuildSourcesBucket": "graviton.image_build.build_sources_bucket",
    "BuildArtifactsKey": "graviton.image_build.build_artifacts_key",
    "LogGroupEncryption": "graviton.log_encryption",
    "ImageRepository": "graviton.registry.image_repository",
    "RegistryGatekeeper": "graviton.registry.registry_gatekeeper",
    # Workloads
    "ArmImageFunction": "graviton.workloads.arm_image_function",
    "SharedHttpApi": "graviton.workloads.shared_http_api",
    "FunctionAlarms": "graviton.workloads.function_alarms",
    "AlarmTopic": "graviton.workloads.alarm_topic",
    "ArmFargateService": "graviton.workloads.arm_fargate_service",
    "SharedLoadBalancer": "graviton.workloads.shared_load_balancer",
    "EnvironmentNetwork": "graviton.workloads.environment_network",
    "PortableNestedStack": "graviton.portable_nested_stack",
    "ArmEksCluster": "graviton.eks.arm_eks_cluster",
    # Pipeline parts
    "PipelineNotifications": "graviton.pipeline.pipeline_notifications",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'graviton' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from graviton.eks.arm_eks_cluster import ArmEksCluster as ArmEksCluster
    from graviton.guardrails.guard import GuardedStage as GuardedStage
    from graviton.guardrails.guard import GuardViolationError as GuardViolationError
    from graviton.guardrails.guard import guard as guard
    from graviton.guardrails.guard import guard_report as guard_report
    from graviton.image_build.arm_image_build import ArmImageBuild as ArmImageBuild
    from graviton.image_build.build_artifacts_key import BuildArtifactsKey as BuildArtifactsKey
    from graviton.image_build.build_sources_bucket import BuildSourcesBucket as BuildSourcesBucket
    from graviton.image_build.container_image import ContainerImage as ContainerImage
    from graviton.image_build.existing_image import ExistingImage as ExistingImage
    from graviton.image_build.image_build_provider import ImageBuildProvider as ImageBuildProvider
    from graviton.image_build.promoted_image import PromotedImage as PromotedImage
    from graviton.log_encryption import LogGroupEncryption as LogGroupEncryption
    from graviton.pipeline.pipeline_notifications import PipelineNotifications as PipelineNotifications
    from graviton.portable_nested_stack import PortableNestedStack as PortableNestedStack
    from graviton.registry.image_repository import ImageRepository as ImageRepository
    from graviton.registry.registry_gatekeeper import RegistryGatekeeper as RegistryGatekeeper
    from graviton.workloads.alarm_topic import AlarmTopic as AlarmTopic
    from graviton.workloads.arm_fargate_service import ArmFargateService as ArmFargateService
    from graviton.workloads.arm_image_function import ArmImageFunction as ArmImageFunction
    from graviton.workloads.environment_network import EnvironmentNetwork as EnvironmentNetwork
    from graviton.workloads.function_alarms import FunctionAlarms as FunctionAlarms
    from graviton.workloads.shared_http_api import SharedHttpApi as SharedHttpApi
    from graviton.workloads.shared_load_balancer import SharedLoadBalancer as SharedLoadBalancer
