"""`python -m graviton_commands.audit PATH [PATH ...]`: the guard's rules on CloudFormation from anywhere.

Each PATH is a template (JSON or YAML), a cloud assembly folder (cdk.out), or a folder searched for templates.
Raw CloudFormation gets its fixes as the property and value to set; an assembly gets CDK's. Writes text, JSON,
SARIF 2.1.0 (for code-scanning views) or JUnit XML, and exits 1 on any violation, 0 when everything is arm64,
2 when a PATH cannot be read.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

import yaml

from graviton.guardrails.assembly import StackContent, load_template, read_assembly, resources_of, with_code_assets
from graviton.guardrails.check import Decision, advisories, evaluate, summary_table, unchecked, violations
from graviton.guardrails.rules.pack import RULES
from graviton_commands.cli import CommandParser

PREFIX = "graviton.audit"
FORMATS = ("text", "json", "sarif", "junit")
TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def template_stack(path: Path) -> StackContent:
    try:
        template = load_template(path)
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a JSON or YAML template ({type(err).__name__})") from None
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path} has no Resources section; is it a CloudFormation template?")
    # a SAM template before `sam package` names its code folders relative to itself
    return StackContent(path.name, path, with_code_assets(resources_of(template), {}, path.parent))


def templates_in(folder: Path) -> list[StackContent]:
    """Every file under `folder` that reads as a template with Resources; other JSON and YAML is not ours."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES):
        try:
            found.append(template_stack(path))
        except ValueError:
            continue
    if not found:
        raise ValueError(f"{folder} holds no CloudFormation template and no manifest.json (cdk.out)")
    return found


def stacks_at(path: Path) -> tuple[list[StackContent], bool]:
    """The stacks at one PATH, and whether they are raw CloudFormation (not a cloud assembly)."""
    if path.is_dir():
        if (path / "manifest.json").is_file():
            return list(read_assembly(path)), False
        return templates_in(path), True
    if not path.is_file():
        raise ValueError(f"{path} does not exist; give a template, a cdk.out folder or a folder of templates")
    return [template_stack(path)], True


def sarif(decisions: list[Decision], files: dict[str, str]) -> dict:
    """SARIF 2.1.0: the pack as the tool's rules, one result per violation (error) and advisory (note)."""
    results = []
    for decision in [*violations(decisions), *advisories(decisions)]:
        results.append(
            {
                "ruleId": decision.rule,
                "level": "note" if decision.advisory else "error",
                "message": {"text": f"{decision.type} found {decision.found}: {decision.fix}"},
                "locations": [
                    {
                        "physicalLocation": {"artifactLocation": {"uri": files.get(decision.stack, decision.stack)}},
                        "logicalLocations": [
                            {"name": decision.logical_id, "fullyQualifiedName": decision.path or decision.logical_id}
                        ],
                    }
                ],
            }
        )
    rules = [
        {
            "id": rule.id,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.explanation},
            "help": {"text": rule.cfn_fix or rule.fix},
            "defaultConfiguration": {"level": "note" if rule.advisory else "error"},
        }
        for rule in RULES
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "graviton-guard", "rules": rules}}, "results": results}],
    }


def junit(decisions: list[Decision], stacks: list[str]) -> str:
    """One testsuite per stack, one testcase per decision, a failure per violation."""
    by_stack: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions:
        by_stack[decision.stack].append(decision)
    suites = ElementTree.Element("testsuites", name="graviton-guard")
    for stack in stacks:
        cases = by_stack.get(stack, [])
        failed = [d for d in cases if not d.compliant and not d.advisory]
        suite = ElementTree.SubElement(
            suites, "testsuite", name=stack, tests=str(len(cases)), failures=str(len(failed)), errors="0"
        )
        for decision in cases:
            case = ElementTree.SubElement(
                suite, "testcase", classname=stack, name=f"{decision.rule} {decision.path or decision.logical_id}"
            )
            if decision in failed:
                failure = ElementTree.SubElement(case, "failure", message=f"found {decision.found}", type=decision.rule)
                failure.text = decision.fix
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def text(decisions: list[Decision], stacks: list[StackContent]) -> str:
    found = violations(decisions)
    lines = [summary_table(decisions, unchecked(stacks))]
    lines += [f"  {d.line()}" for d in found]
    lines += [f"  advisory: {d.line()}" for d in advisories(decisions)]
    lines.append(f"{len(found)} violation(s)" if found else "all compute and image assets are arm64")
    return "\n".join(lines) + "\n"


def relative(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m graviton_commands.audit", description=__doc__.splitlines()[0], prefix=PREFIX)
    parser.add_argument("paths", type=Path, nargs="+", metavar="PATH", help="a template, a cdk.out, or a folder")
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.add_argument("--output", type=Path, help="write the report to this file (default: standard output)")
    args = parser.parse_args(argv)
    stacks: list[StackContent] = []
    decisions: list[Decision] = []
    try:
        for path in args.paths:
            found, raw = stacks_at(path)
            stacks += found
            step = evaluate(found)
            decisions += [d.in_cloudformation_terms() for d in step] if raw else step
    except ValueError as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return 2
    files = {stack.name: relative(stack.template_path) for stack in stacks}
    report_format = "json" if args.json else args.format
    if report_format == "json":
        report = json.dumps([d.as_json() for d in decisions], indent=2) + "\n"
    elif report_format == "sarif":
        report = json.dumps(sarif(decisions, files), indent=2) + "\n"
    elif report_format == "junit":
        report = junit(decisions, [stack.name for stack in stacks])
    else:
        report = text(decisions, stacks)
    if args.output:
        try:
            args.output.write_text(report)
        except OSError as err:
            print(f"{PREFIX}: --output {args.output}: cannot write ({err.strerror})", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(report)
    return 1 if violations(decisions) else 0


if __name__ == "__main__":
    sys.exit(main())
