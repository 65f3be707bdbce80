"""Which checks run, in which order: the index of verify's checks.

`--no-aws` runs `CHECKS` (GET /arch on the endpoints given). With AWS, `aws_checks` names the nested stacks that
could not be read, then runs the workloads (they record the images they run), then the images, then GET /arch on the
stack's endpoints. An AWS error a check did not expect becomes one row that cannot be checked, never a traceback, and
the other checks still run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graviton_commands.aws import aws_error, client_errors
from graviton_commands.verify.build_check import CHECK_BUILD, build_rows
from graviton_commands.verify.endpoints import http_arch_check
from graviton_commands.verify.image_check import CHECK_IMAGE, image_rows
from graviton_commands.verify.lambda_check import CHECK_LAMBDA, lambda_rows
from graviton_commands.verify.model import CANNOT_CHECK, Check, Plan, Row
from graviton_commands.verify.nested_stack_check import CHECK_NESTED_STACK, nested_stack_rows
from graviton_commands.verify.node_check import CHECK_NODE, node_rows
from graviton_commands.verify.stack import Aws
from graviton_commands.verify.task_check import CHECK_TASK, task_rows

CHECKS: tuple[Check, ...] = (http_arch_check,)

# The nested stacks that could not be read (what goes unchecked), then the workloads (they name the images they
# run), then the images, then what the services say of themselves.
AWS_CHECKS: tuple[tuple[str, Callable[[Aws], list[Row]]], ...] = (
    (CHECK_NESTED_STACK, nested_stack_rows),
    (CHECK_LAMBDA, lambda_rows),
    (CHECK_TASK, task_rows),
    (CHECK_BUILD, build_rows),
    (CHECK_NODE, node_rows),
    (CHECK_IMAGE, image_rows),
)


def aws_checks(aws: Aws) -> list[Check]:
    """The AWS checks as plan checks; an AWS error a check did not expect becomes one row, not a traceback."""

    def guarded(name: str, check: Callable[[Aws], list[Row]]) -> Check:
        def run(plan: Plan) -> list[Row]:
            try:
                return check(aws)
            except client_errors() as err:
                return [Row(name, aws.stack, "-", "-", CANNOT_CHECK, aws_error(err))]

        return run

    return [guarded(name, check) for name, check in AWS_CHECKS]


def run_checks(plan: Plan, checks: Sequence[Check] = CHECKS) -> list[Row]:
    return [row for check in checks for row in check(plan)]
