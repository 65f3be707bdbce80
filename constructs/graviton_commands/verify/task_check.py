"""ECS task definitions: every AWS::ECS::TaskDefinition of the stack must set `runtimePlatform.cpuArchitecture`
ARM64.

Fargate runs a task definition without a runtime platform on X86_64, so unset fails as surely as X86_64; the images
the containers run are recorded for the image check.
"""

from __future__ import annotations

from graviton_commands.aws import aws_error, client_errors
from graviton_commands.verify.model import CANNOT_CHECK, OK, WRONG, Row
from graviton_commands.verify.stack import Aws

CHECK_TASK = "ECS task definition"
EXPECTED_CPU = "ARM64"


def task_rows(aws: Aws) -> list[Row]:
    """Every task definition of the stack: `runtimePlatform.cpuArchitecture` must be ARM64 (unset is X86_64)."""
    arns = aws.physical_ids("AWS::ECS::TaskDefinition")
    aws.progress(f"{len(arns)} ECS task definition(s)")
    client = aws.client("ecs")
    rows = []
    for arn in arns:
        name = arn.rpartition("/")[2] or arn  # family:revision
        try:
            definition = client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        except client_errors() as err:
            rows.append(Row(CHECK_TASK, name, EXPECTED_CPU, "-", CANNOT_CHECK, aws_error(err)))
            continue
        for container in definition.get("containerDefinitions", []):
            if container.get("image"):
                aws.refer(container["image"], f"{CHECK_TASK} {name} ({container.get('name', '?')})")
        cpu = (definition.get("runtimePlatform") or {}).get("cpuArchitecture")
        found = cpu or "unset (X86_64)"
        ok = cpu == EXPECTED_CPU
        why = "" if ok else f"runs on {found}; set RuntimePlatform(cpu_architecture=CpuArchitecture.ARM64)"
        rows.append(Row(CHECK_TASK, name, EXPECTED_CPU, found, OK if ok else WRONG, why))
    return rows
