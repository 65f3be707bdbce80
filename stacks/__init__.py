"""The app's stacks: thin compositions of graviton constructs."""

from stacks.environment_stack import EnvironmentStack

__all__ = ["EnvironmentStack"]
