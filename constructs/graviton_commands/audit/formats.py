"""The reports `audit` writes: text for people, JSON, SARIF 2.1.0 for code-scanning views, JUnit XML for CI."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from graviton.guardrails.assembly import StackContent
from graviton.guardrails.check import Decision, advisories, summary_table, unchecked, violations
from graviton.guardrails.rules.pack import RULES

TOOL = "graviton-guard"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def text(decisions: list[Decision], stacks: list[StackContent]) -> str:
    """The summary table, then every violation and advisory on its own line, then the verdict."""
    found = violations(decisions)
    lines = [summary_table(decisions, unchecked(stacks), shown_as={stack.name: stack.shown_as for stack in stacks})]
    lines += [f"  {d.line()}" for d in found]
    lines += [f"  advisory: {d.line()}" for d in advisories(decisions)]
    lines.append(f"{len(found)} violation(s)" if found else "all compute and image assets are arm64")
    return "\n".join(lines) + "\n"


def as_json(decisions: list[Decision]) -> str:
    """Every decision, compliant ones included, as a JSON list."""
    return json.dumps([d.as_json() for d in decisions], indent=2) + "\n"


def artifact_uri(path: Path) -> str:
    """A template's SARIF location: relative to the working directory (what code-scanning views resolve against
    the repository), else an absolute file: URI."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return absolute.as_uri()


def is_entry(line: str) -> bool:
    """A template line that holds a key or value: neither blank nor a YAML comment."""
    return bool(line.strip()) and not line.lstrip().startswith("#")


def line_of(template: Path, logical_id: str) -> int | None:
    """The line where a resource's logical id opens its entry under Resources in a JSON or YAML template, so a
    code-scanning view points at the resource rather than the top of the file; None when not found (image
    assets, nested stacks, one-line JSON). Only keys at the indentation of Resources' first entry count, so a
    property or an output of the same name is never taken for the resource."""
    try:
        lines = template.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    start = next((n for n, line in enumerate(lines) if re.match(r"""^\s*["']?Resources["']?\s*:""", line)), None)
    if start is None:
        return None
    # (1-based line number, line) of what follows Resources
    entries = [(n, line) for n, line in enumerate(lines[start + 1 :], start + 2) if is_entry(line)]
    if not entries:
        return None
    indent = len(entries[0][1]) - len(entries[0][1].lstrip())
    key = re.compile(rf"""^{" " * indent}["']?{re.escape(logical_id)}["']?\s*:""")
    return next((n for n, line in entries if key.match(line)), None)


def sarif_rules() -> list[dict]:
    """The pack as the SARIF driver's rules; help gives the fix in both CDK and CloudFormation terms, since one
    run may hold assemblies and hand-written templates."""
    described = []
    for rule in RULES:
        in_cfn = rule.cfn_fix and rule.cfn_fix != rule.fix
        help_text = rule.fix + (f"\nIn a CloudFormation template: {rule.cfn_fix}" if in_cfn else "")
        described.append(
            {
                "id": rule.id,
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.explanation},
                "help": {"text": help_text},
                "defaultConfiguration": {"level": "note" if rule.advisory else "error"},
            }
        )
    return described


def sarif_result(decision: Decision, template: Path | None, rule_index: Mapping[str, int]) -> dict:
    """One violation (level error) or advisory (level note): where it is, what was found and the fix."""
    physical: dict = {"artifactLocation": {"uri": artifact_uri(template) if template else decision.stack}}
    line = line_of(template, decision.logical_id) if template else None
    if line:
        physical["region"] = {"startLine": line}
    result: dict[str, Any] = {
        "ruleId": decision.rule,
        "level": "note" if decision.advisory else "error",
        "message": {"text": f"{decision.type} {decision.logical_id} found {decision.found}: {decision.fix}"},
        "locations": [
            {
                "physicalLocation": physical,
                "logicalLocations": [
                    {
                        "name": decision.logical_id,
                        "fullyQualifiedName": decision.path or f"{decision.stack}/{decision.logical_id}",
                        "kind": "resource",
                    }
                ],
            }
        ],
    }
    if decision.rule in rule_index:
        result["ruleIndex"] = rule_index[decision.rule]
    return result


def sarif(decisions: list[Decision], templates: Mapping[str, Path]) -> str:
    """A SARIF 2.1.0 log with one run: the pack as the tool's rules and a result per violation and advisory.
    `templates` gives each stack's template file."""
    rule_index = {rule.id: index for index, rule in enumerate(RULES)}
    results = [
        sarif_result(d, templates.get(d.stack), rule_index) for d in [*violations(decisions), *advisories(decisions)]
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": TOOL, "rules": sarif_rules()}}, "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"


def junit(decisions: list[Decision], stacks: list[str]) -> str:
    """JUnit XML: one testsuite per stack, one testcase per decision (classname the stack, name the rule and the
    resource), a failure per violation; an advisory passes and says so in its system-out."""
    by_stack: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions:
        by_stack[decision.stack].append(decision)
    failures = len(violations(decisions))
    suites = ElementTree.Element("testsuites", name=TOOL, tests=str(len(decisions)), failures=str(failures))
    for stack in stacks:
        cases = by_stack.get(stack, [])
        failed = violations(cases)
        suite = ElementTree.SubElement(
            suites, "testsuite", name=stack, tests=str(len(cases)), failures=str(len(failed)), errors="0", skipped="0"
        )
        for decision in cases:
            resource = decision.path or f"{decision.stack}/{decision.logical_id}"
            case = ElementTree.SubElement(suite, "testcase", classname=stack, name=f"{decision.rule} {resource}")
            if not decision.compliant and not decision.advisory:
                failure = ElementTree.SubElement(case, "failure", message=f"found {decision.found}", type=decision.rule)
                failure.text = decision.fix
            elif not decision.compliant:
                ElementTree.SubElement(case, "system-out").text = f"advisory: found {decision.found}: {decision.fix}"
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
