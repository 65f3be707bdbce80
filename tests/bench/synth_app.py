"""A large arm64-only app for the guard benchmark: N Lambda functions and M ARM CodeBuild projects.

Functions ship their code as file assets (one folder per ten functions, each with Python files and an aarch64
shared object), so the guard's ELF scan runs as it does on a real app.

Usage: python tests/bench/synth_app.py FUNCTIONS BUILDS guard|no-guard OUTDIR
With the guard, the seconds spent inside its two entry points (remediation and the validation plugin, Node work
they wait for included) go to OUTDIR/../guard-seconds.txt: a figure that does not move with the machine's load
the way whole-process times do.
Stacks hold at most 500 resources (a function is 2, a project 3), as CloudFormation allows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_lambda as lambda_

from graviton.arm64 import BUILD_IMAGE, LAMBDA_ARCHITECTURE
from graviton.guardrails.guard import GuardPlugin, guard
from graviton.guardrails.remediation import RemediateCdkFunctions

STACK_LIMIT = 500


AARCH64_SO = b"\x7fELF\x02\x01\x01" + bytes(11) + (183).to_bytes(2, "little") + bytes(65_536)


def code_folder(folder: Path, n: int) -> Path:
    """A function's code: a handler, a vendored package of twenty modules, and one aarch64 extension."""
    (folder / "vendor").mkdir(parents=True, exist_ok=True)
    (folder / "index.py").write_text(f"def handler(event, context): return {n}\n")
    for module in range(20):
        (folder / "vendor" / f"m{module}.py").write_text("VALUE = 1\n" * 200)
    (folder / "vendor" / "_speedups.cpython-313-aarch64-linux-gnu.so").write_bytes(AARCH64_SO)
    return folder


def build(functions: int, builds: int, guarded: bool, outdir: str) -> cdk.App:
    app = cdk.App(outdir=outdir)
    if guarded:
        guard(app)
    stack, used = None, STACK_LIMIT
    assets = Path(outdir).parent / f"{Path(outdir).name}-code"
    folders = [str(code_folder(assets / f"code{n}", n)) for n in range(max(1, functions // 10))]
    items = [("function", 2)] * functions + [("build", 3)] * builds
    for index, (kind, cost) in enumerate(items):
        if used + cost > STACK_LIMIT:
            stack, used = cdk.Stack(app, f"Bench{index}"), 0
        used += cost
        if kind == "function":
            lambda_.Function(
                stack, f"F{index}", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler",
                code=lambda_.Code.from_asset(folders[index % len(folders)]), architecture=LAMBDA_ARCHITECTURE,
            )  # fmt: skip
        else:
            codebuild.Project(
                stack, f"B{index}", environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                build_spec=codebuild.BuildSpec.from_object({"version": "0.2"}),
            )  # fmt: skip
    return app


GUARD_SECONDS = [0.0]


def timed(method):
    def run(self, *args):
        start = time.perf_counter()
        try:
            return method(self, *args)
        finally:
            GUARD_SECONDS[0] += time.perf_counter() - start

    return run


if __name__ == "__main__":
    functions, builds, mode, outdir = sys.argv[1:5]
    # jsii calls these by name on the Python object, so the class attributes are what runs
    GuardPlugin.validate = timed(GuardPlugin.validate)  # type: ignore[method-assign]
    RemediateCdkFunctions.validate = timed(RemediateCdkFunctions.validate)  # type: ignore[method-assign]
    build(int(functions), int(builds), mode == "guard", outdir).synth()
    Path(outdir).parent.joinpath("guard-seconds.txt").write_text(f"{GUARD_SECONDS[0]:.3f}\n")
