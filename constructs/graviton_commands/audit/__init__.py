"""`python -m graviton_commands.audit PATH [PATH ...]`: the guard's rules on CloudFormation from anywhere.

Each PATH is a template (JSON or YAML), a cloud assembly folder (cdk.out), or a folder searched for templates.
Raw CloudFormation gets its fixes as the property and value to set; an assembly gets CDK's. Writes text, JSON,
SARIF 2.1.0 (for code-scanning views) or JUnit XML, and exits 1 on any violation, 0 when everything is arm64,
2 when a PATH cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from graviton.guardrails.check import Decision, evaluate, violations
from graviton_commands.audit import formats
from graviton_commands.audit.inputs import Input, distinct, stacks_at
from graviton_commands.cli import EXIT_REFUSED, CommandParser

PREFIX = "graviton.audit"
FORMATS = ("text", "json", "sarif", "junit")


def parser() -> CommandParser:
    """The command line: PATHs, the report format (`--json` kept as the old spelling of `--format json`)."""
    command = CommandParser(
        prog="python -m graviton_commands.audit", description=__doc__.splitlines()[0], prefix=PREFIX
    )
    command.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="a template, a cdk.out, or a folder")
    chosen = command.add_mutually_exclusive_group()
    chosen.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    chosen.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    command.add_argument("--output", type=Path, help="write the report to this file (default: standard output)")
    return command


def decide(inputs: list[Input]) -> list[Decision]:
    """Every decision; a hand-written template's fixes in CloudFormation terms (a rule without them keeps its
    own), an assembly's in CDK's."""
    decisions = []
    for item in inputs:
        found = evaluate([item.stack])
        decisions += [d.in_cloudformation_terms() for d in found] if item.raw else found
    return decisions


def report(report_format: str, decisions: list[Decision], inputs: list[Input]) -> str:
    """The report in the chosen format."""
    stacks = [item.stack for item in inputs]
    if report_format == "json":
        return formats.as_json(decisions)
    if report_format == "sarif":
        return formats.sarif(decisions, {stack.name: stack.template_path for stack in stacks})
    if report_format == "junit":
        return formats.junit(decisions, [stack.name for stack in stacks])
    return formats.text(decisions, stacks)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    inputs: list[Input] = []
    try:
        for path in args.paths:
            inputs += stacks_at(path)
    except ValueError as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return EXIT_REFUSED
    inputs = distinct(inputs)
    decisions = decide(inputs)
    text = report(args.format, decisions, inputs)
    if args.output:
        try:
            args.output.write_text(text)
        except OSError as err:
            print(f"{PREFIX}: --output {args.output}: cannot write ({err.strerror})", file=sys.stderr)
            return EXIT_REFUSED
    else:
        sys.stdout.write(text)
    return 1 if violations(decisions) else 0
