"""The app's stacks: thin compositions of graviton constructs."""

from stacks.environment_stack import EnvironmentStack
from stacks.environment_stage import EnvironmentStage
from stacks.pipeline_stack import PipelineStack

__all__ = ["EnvironmentStack", "EnvironmentStage", "PipelineStack"]
