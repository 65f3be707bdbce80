"""Nested stacks: every nested stack the environment's stack lists must be readable, or the resources in it would go
unchecked without a word.

A nested stack that was never created, is deleted, is missing, or that the credentials may not read is one row
that cannot be checked (exit 2); the resources of every other stack are checked all the same.
"""

from __future__ import annotations

from graviton_commands.verify.model import CANNOT_CHECK, Row
from graviton_commands.verify.stack import Aws

CHECK_NESTED_STACK = "Nested stack"


def nested_stack_rows(aws: Aws) -> list[Row]:
    """One row per nested stack that could not be read; none when every one was."""
    return [
        Row(
            CHECK_NESTED_STACK,
            stack.name,
            "readable",
            "-",
            CANNOT_CHECK,
            f"{stack.logical_id} in {stack.parent} could not be read, so its resources are not checked: {stack.reason}",
        )
        for stack in aws.unreadable
    ]
