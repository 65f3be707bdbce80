"""Helpers the tests share: the repo root, the real app's synthesis, running commands as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk.assertions import Template

import app as cdk_app

ROOT = Path(__file__).resolve().parents[1]


def repo_context() -> dict:
    """The context cdk.json gives the app."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


# What `-c` (or cdk.json) gives PipelineStack in the pipeline tests.
PIPELINE_SETTINGS = {
    "pipeline_connection_arn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-4e5f",
    "pipeline_repository": "acme/graviton-guarantee",
    "pipeline_branch": "release",
    "pipeline_file_paths": ["docker/**", "stacks/**", "constructs/**"],
}


def pipeline_context(**overrides) -> dict:
    """cdk.json's context with the pipeline settings: the app then composes PipelineStack too."""
    return {**repo_context(), **PIPELINE_SETTINGS, **overrides}


@dataclass
class Synthesized:
    app: cdk.App
    stacks: dict[str, cdk.Stack]
    outdir: Path
    error: Exception | None

    def template(self, environment: str) -> Template:
        stack = self.stacks[environment]
        return Template.from_json(json.loads((self.outdir / stack.template_file).read_text()))

    def template_dict(self, environment: str) -> dict:
        return json.loads((self.outdir / self.stacks[environment].template_file).read_text())

    def stack_template(self, stack: cdk.Stack) -> dict:
        """Any stack's synthesized template, nested stages' stacks included."""
        return json.loads((Path(cdk.Stage.of(stack).outdir) / stack.template_file).read_text())


def synthesize(context: dict, outdir: Path) -> Synthesized:
    """Compose the app exactly as app.py does and synthesize it, keeping a validation failure to assert on."""
    app = cdk_app.new_app(context, outdir=str(outdir))
    stacks = cdk_app.compose(app, cdk_app.settings(app.node.get_all_context(), root=ROOT))
    try:
        app.synth()
        error = None
    except RuntimeError as err:  # cdk-nag's findings fail synth with a RuntimeError
        error = err
    return Synthesized(app=app, stacks=stacks, outdir=outdir, error=error)


def run(args: list[str], *, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a command the way a user would, with the venv and the pinned Node first on PATH."""
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{full_env['PATH']}"
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


def one(template: Template, resource_type: str, props: dict | None = None) -> tuple[str, dict]:
    """The single resource of a type (with these properties): its logical id and its definition."""
    found = template.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return next(iter(found.items()))


def lifecycle_rules(repository: dict) -> list[dict]:
    """An AWS::ECR::Repository's lifecycle rules, by priority."""
    rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    return sorted(rules, key=lambda rule: rule["rulePriority"])


def rule_selects(rule: dict, tags: list[str]) -> bool:
    """Whether an ECR lifecycle rule's selection takes an image with these tags: ECR takes a tagged image when ANY of
    its tags matches a prefix (or a `*` wildcard pattern) of the rule."""
    selection = rule["selection"]
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not tags
    prefixes = selection.get("tagPrefixList", [])
    patterns = [
        re.compile("".join(".*" if c == "*" else re.escape(c) for c in p)) for p in selection.get("tagPatternList", [])
    ]
    return any(tag.startswith(prefix) for tag in tags for prefix in prefixes) or any(
        pattern.fullmatch(tag) for tag in tags for pattern in patterns
    )
