"""CodeBuild projects: every AWS::CodeBuild::Project of the stack, and the image builds and EKS apply projects its
`<Service>BuildProject` / `EksApplyProject` outputs name, must build on an ARM environment type.

An image built on x86 CodeBuild is an x86 image unless every step cross-compiles, so the guarantee starts with the
builders: ARM_CONTAINER, ARM_LAMBDA_CONTAINER or ARM_EC2.
"""

from __future__ import annotations

from graviton_app.naming import OUTPUT_BUILD_PROJECT, OUTPUT_EKS_APPLY_PROJECT
from graviton_commands.aws import aws_error, client_errors
from graviton_commands.verify.model import BATCH, CANNOT_CHECK, OK, WRONG, Row
from graviton_commands.verify.stack import Aws

CHECK_BUILD = "CodeBuild project"
ARM_BUILD_TYPES = ("ARM_CONTAINER", "ARM_LAMBDA_CONTAINER", "ARM_EC2")


def build_rows(aws: Aws) -> list[Row]:
    """Every CodeBuild project of the stack (and those its outputs name): an ARM environment type."""
    names = list(
        dict.fromkeys(
            [
                *aws.physical_ids("AWS::CodeBuild::Project"),
                *aws.outputs_ending(OUTPUT_BUILD_PROJECT).values(),
                *aws.outputs_ending(OUTPUT_EKS_APPLY_PROJECT).values(),
            ]
        )
    )
    aws.progress(f"{len(names)} CodeBuild project(s)")
    client = aws.client("codebuild")
    expected = "|".join(ARM_BUILD_TYPES)
    rows = []
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        try:
            answer = client.batch_get_projects(names=chunk)
        except client_errors() as err:
            rows += [Row(CHECK_BUILD, name, expected, "-", CANNOT_CHECK, aws_error(err)) for name in chunk]
            continue
        projects = {project["name"]: project for project in answer.get("projects", [])}
        for name in chunk:
            project = projects.get(name) or projects.get(name.rpartition("/")[2])
            if project is None:
                rows.append(Row(CHECK_BUILD, name, expected, "-", CANNOT_CHECK, "CodeBuild does not know this project"))
                continue
            kind = project.get("environment", {}).get("type", "?")
            ok = kind in ARM_BUILD_TYPES
            why = "" if ok else f"builds on {kind}; use LinuxArmBuildImage (ARM_CONTAINER)"
            rows.append(Row(CHECK_BUILD, name, expected, kind, OK if ok else WRONG, why))
    return rows
