"""A large arm64-only app for the guard benchmark: N Lambda functions and M ARM CodeBuild projects.

Usage: python tests/bench/synth_app.py FUNCTIONS BUILDS guard|no-guard OUTDIR
Stacks hold at most 500 resources (a function is 2, a project 3), as CloudFormation allows.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_lambda as lambda_

from graviton.arm64 import BUILD_IMAGE, LAMBDA_ARCHITECTURE
from graviton.guardrails.guard import guard

STACK_LIMIT = 500


def build(functions: int, builds: int, guarded: bool, outdir: str) -> cdk.App:
    app = cdk.App(outdir=outdir)
    if guarded:
        guard(app)
    stack, used = None, STACK_LIMIT
    code = lambda_.Code.from_inline("def handler(event, context): return 'ok'")
    items = [("function", 2)] * functions + [("build", 3)] * builds
    for index, (kind, cost) in enumerate(items):
        if used + cost > STACK_LIMIT:
            stack, used = cdk.Stack(app, f"Bench{index}"), 0
        used += cost
        if kind == "function":
            lambda_.Function(
                stack, f"F{index}", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                code=code, architecture=LAMBDA_ARCHITECTURE,
            )  # fmt: skip
        else:
            codebuild.Project(
                stack, f"B{index}", environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                build_spec=codebuild.BuildSpec.from_object({"version": "0.2"}),
            )  # fmt: skip
    return app


if __name__ == "__main__":
    functions, builds, mode, outdir = sys.argv[1:5]
    build(int(functions), int(builds), mode == "guard", outdir).synth()
