"""`python -m graviton_commands.audit PATH`: the guard's rules on CloudFormation that did not come from this app.

PATH is a template (JSON or YAML) or a cloud assembly folder (cdk.out). Prints every violation with its fix
and exits 1 when there is any, 0 when everything is arm64, 2 when PATH cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from graviton.guardrails.assembly import StackContent, load_template, read_assembly, resources_of, with_code_assets
from graviton.guardrails.check import Decision, advisories, evaluate, summary_table, unchecked, violations
from graviton_commands.cli import CommandParser

PREFIX = "graviton.audit"


def stacks_at(path: Path) -> list[StackContent]:
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise ValueError(f"{path} is a folder without manifest.json; give a template file or a cdk.out folder")
        return list(read_assembly(path))
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    try:
        template = load_template(path)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ValueError(f"{path} is not a JSON or YAML template ({type(err).__name__})") from None
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path} has no Resources section; is it a CloudFormation template?")
    # a SAM template before `sam package` names its code folders relative to itself
    return [StackContent(path.name, path, with_code_assets(resources_of(template), {}, path.parent))]


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m graviton_commands.audit", description=__doc__.splitlines()[0], prefix=PREFIX)
    parser.add_argument("path", type=Path, help="a CloudFormation template (JSON/YAML) or a cdk.out folder")
    parser.add_argument("--json", action="store_true", help="print every decision as JSON")
    args = parser.parse_args(argv)
    try:
        stacks = stacks_at(args.path)
    except ValueError as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return 2
    decisions: list[Decision] = evaluate(stacks)
    found = violations(decisions)
    if args.json:
        print(json.dumps([d.as_json() for d in decisions], indent=2))
    else:
        print(summary_table(decisions, unchecked(stacks)))
        for decision in found:
            print(f"  {decision.line()}")
        for decision in advisories(decisions):
            print(f"  advisory: {decision.line()}")
        print(f"{len(found)} violation(s)" if found else "all compute and image assets are arm64")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
