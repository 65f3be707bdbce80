"""The app's stacks: thin compositions of graviton constructs."""

from stacks.environment_stack import EnvironmentStack
from stacks.environment_stage import EnvironmentStage

__all__ = ["EnvironmentStack", "EnvironmentStage"]
