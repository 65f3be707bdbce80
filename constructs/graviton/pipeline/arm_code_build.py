"""Graviton CodeBuild for the projects CDK Pipelines creates."""

from __future__ import annotations

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import pipelines

from graviton.arm64 import BUILD_COMPUTE, BUILD_IMAGE

# Pinned in every pipeline project: the image's defaults move when a runtime reaches end of life.
BUILD_RUNTIMES = {"python": "3.12", "nodejs": "22"}


def arm_build_environment() -> codebuild.BuildEnvironment:
    """Graviton CodeBuild (ARM_CONTAINER, Amazon Linux 2023 aarch64)."""
    return codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=BUILD_COMPUTE)


def arm_code_build_options(*, pin_runtimes: bool = False) -> pipelines.CodeBuildOptions:
    """CodeBuild options that put a CDK Pipelines project on Graviton (and, once, pin its runtimes)."""
    spec = {"phases": {"install": {"runtime-versions": BUILD_RUNTIMES}}} if pin_runtimes else None
    return pipelines.CodeBuildOptions(
        build_environment=arm_build_environment(),
        partial_build_spec=codebuild.BuildSpec.from_object(spec) if spec else None,
    )
