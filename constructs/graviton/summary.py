"""`python -m graviton.summary cdk.out`: one line per synthesized stack, with its arm64 status."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ARM_BUILD_TYPES = {"ARM_CONTAINER", "ARM_LAMBDA_CONTAINER", "ARM_EC2"}


@dataclass(frozen=True)
class StackSummary:
    name: str
    resources: int
    functions: int
    arm64_functions: int
    builds: int
    arm_builds: int

    @property
    def all_arm64(self) -> bool:
        return self.functions == self.arm64_functions and self.builds == self.arm_builds


def stack_templates(assembly: Path) -> Iterator[tuple[str, Path]]:
    """(display name, template path) for every stack in a cloud assembly, nested Stages included."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact["type"] == "aws:cloudformation:stack":
            yield artifact.get("displayName", artifact_id), assembly / properties["templateFile"]
        elif artifact["type"] == "cdk:cloud-assembly":
            yield from stack_templates(assembly / properties["directoryName"])


def summarize(name: str, template: dict) -> StackSummary:
    resources = template.get("Resources", {}).values()
    functions = [r for r in resources if r["Type"] == "AWS::Lambda::Function"]
    builds = [r for r in resources if r["Type"] == "AWS::CodeBuild::Project"]
    return StackSummary(
        name=name,
        resources=len(template.get("Resources", {})),
        functions=len(functions),
        arm64_functions=sum(r.get("Properties", {}).get("Architectures") == ["arm64"] for r in functions),
        builds=len(builds),
        arm_builds=sum(r.get("Properties", {}).get("Environment", {}).get("Type") in ARM_BUILD_TYPES for r in builds),
    )


def render(summaries: list[StackSummary]) -> str:
    header = f"{'stack':<28} {'resources':>9} {'arm64 Lambda':>13} {'ARM CodeBuild':>14}  arm64"
    lines = [header, "-" * len(header)]
    for s in summaries:
        lines.append(
            f"{s.name:<28} {s.resources:>9} {f'{s.arm64_functions}/{s.functions}':>13} "
            f"{f'{s.arm_builds}/{s.builds}':>14}  {'yes' if s.all_arm64 else 'NO'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m graviton.summary CDK_OUT_DIR", file=sys.stderr)
        return 2
    assembly = Path(args[0])
    if not (assembly / "manifest.json").is_file():
        print(f"graviton.summary: {assembly} has no manifest.json; run make synth first", file=sys.stderr)
        return 2
    summaries = [summarize(name, json.loads(path.read_text())) for name, path in stack_templates(assembly)]
    print(render(summaries))
    return 0 if all(s.all_arm64 for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
