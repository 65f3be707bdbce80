"""`python -m graviton_commands.summary cdk.out`: one line per synthesized stack, with its arm64 status."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from graviton.guardrails.assembly import StackContent, read_assembly
from graviton.guardrails.check import Decision, evaluate
from graviton_commands.cli import CommandParser, has_assembly


@dataclass(frozen=True)
class StackSummary:
    name: str
    resources: int
    functions: int
    arm64_functions: int
    builds: int
    arm_builds: int
    violations: int

    @property
    def all_arm64(self) -> bool:
        return self.violations == 0


def summarize(stack: StackContent) -> StackSummary:
    """Counts from the guard's own verdicts, so the summary and the guard never disagree."""
    decisions = evaluate([stack])

    def counts(rule: str) -> tuple[int, int]:
        of_rule: list[Decision] = [d for d in decisions if d.rule == rule]
        return len(of_rule), sum(d.compliant for d in of_rule)

    (functions, arm64_functions), (builds, arm_builds) = counts("GG-LAMBDA"), counts("GG-CODEBUILD")
    return StackSummary(
        name=stack.shown_as,
        resources=len(stack.resources),
        functions=functions,
        arm64_functions=arm64_functions,
        builds=builds,
        arm_builds=arm_builds,
        violations=sum(not d.compliant for d in decisions),
    )


def render(summaries: list[StackSummary]) -> str:
    width = max([28, *(len(s.name) for s in summaries)])
    header = f"{'stack':<{width}} {'resources':>9} {'arm64 Lambda':>13} {'ARM CodeBuild':>14}  arm64"
    lines = [header, "-" * len(header)]
    for s in summaries:
        lines.append(
            f"{s.name:<{width}} {s.resources:>9} {f'{s.arm64_functions}/{s.functions}':>13} "
            f"{f'{s.arm_builds}/{s.builds}':>14}  {'yes' if s.all_arm64 else 'NO'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m graviton_commands.summary", description=__doc__.splitlines()[0])
    parser.add_argument("cdk_out", type=Path, metavar="CDK_OUT_DIR", help="the cloud assembly make synth wrote")
    assembly: Path = parser.parse_args(argv).cdk_out
    if not has_assembly(assembly):
        print(f"summary: {assembly} has no manifest.json; run make synth first", file=sys.stderr)
        return 2
    summaries = [summarize(stack) for stack in read_assembly(assembly)]
    print(render(summaries))
    return 0 if all(s.all_arm64 for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
