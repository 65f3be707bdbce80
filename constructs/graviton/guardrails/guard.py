"""The arm64 guard: `guard(app)` makes any x86 compute or asset fail synth.

- The checks run as a CDK policy-validation plugin on the final templates and asset manifests of the whole
  cloud assembly (nested Stages and NestedStacks included), after raw overrides.
- Remediation switches CDK's own functions to arm64 in each guarded scope, once per synth of that scope
  (CDK synthesizes a nested Stage on its own, so every Stage calls `guard(self)`; `GuardedStage` does that
  in its constructor, before CDK Pipelines synthesizes it in `add_stage`).
- Violations are `fatal`, which CDK never lets an acknowledgement suppress, and `app.synth()` raises
  `GuardViolationError` whatever mode the app runs in (CDK's CLI mode alone would only report them). Left uncaught,
  it prints its list of violations, no traceback, and the app exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    App,
    CfnResource,
    IPolicyValidationPluginBeta1,
    PolicyValidationPluginReportBeta1,
    PolicyViolatingResourceBeta1,
    PolicyViolationBeta1,
    Stack,
    Stage,
    Validations,
)

from constructs import Construct, IConstruct
from graviton.guardrails.assembly import assembly_stacks, read_stack
from graviton.guardrails.check import Decision, advisories, evaluate, summary_table, unchecked, violations
from graviton.guardrails.remediation import RemediateCdkFunctions
from graviton.guardrails.rules.pack import PACK

PLUGIN_NAME = "GravitonGuard"
REPORT_FILE = "arm64-report.json"
_GUARDED = "_graviton_guarded"  # set on a guarded App or Stage
_PLUGIN = "_graviton_plugin"  # the App's GuardPlugin


class GuardViolationError(RuntimeError):
    """Synth produced something that would run on x86; the message lists every violation."""

    def __init__(self, found: list[Decision]) -> None:
        self.violations = found
        lines = [f"arm64 guard: {len(found)} violation(s); x86 cannot be acknowledged or suppressed"]
        lines += [f"  {d.line()}" for d in found]
        super().__init__("\n".join(lines))


@jsii.implements(IPolicyValidationPluginBeta1)
class GuardPlugin:
    """Checks every synthesized template and image asset with the rule pack; writes arm64-report.json."""

    def __init__(self, app: App) -> None:
        self._app = app
        self.decisions: list[Decision] = []
        self.summary = ""  # the per-stack table the last synth printed

    @property
    def name(self) -> str:
        return PLUGIN_NAME

    @property
    def version(self) -> str:
        return "1"

    @property
    def rule_ids(self) -> list[str]:
        return list(PACK)

    def validate(self, context) -> PolicyValidationPluginReportBeta1:
        stacks_by_template = {str(Path(Stage.of(s).outdir, s.template_file).resolve()): s for s in _stacks(self._app)}
        # The assembly (written before plugins run) lists the stacks in the order the app added them.
        try:
            in_assembly = {str(s.template_path.resolve()): s for s in assembly_stacks(Path(self._app.outdir))}
        except (OSError, ValueError, KeyError):  # no readable manifest: CDK's order and the stacks' ids
            in_assembly = {}
        position = {key: index for index, key in enumerate(in_assembly)}
        templates = sorted(context.template_paths, key=lambda t: position.get(str(Path(t).resolve()), len(position)))
        stacks = [self._read(template, stacks_by_template) for template in templates]
        decisions = evaluate(stacks)
        unplaced = {d.stack for d in violations(decisions) if not d.path}
        if unplaced:  # read those stacks again with construct paths, so messages and fixes can name them
            stacks = [
                self._read(template, stacks_by_template, with_paths=stack.name in unplaced)
                for template, stack in zip(templates, stacks, strict=True)
            ]
            decisions = evaluate(stacks)
        self.decisions = decisions
        not_checked = unchecked(stacks)
        self._write_report(decisions, not_checked)
        shown_as = {
            stack.name: in_assembly[key].display_name
            for stack in stacks
            if (key := str(stack.template_path.resolve())) in in_assembly
        }
        self.summary = summary_table(decisions, not_checked, shown_as=shown_as)
        print(self.summary, file=sys.stderr)
        found = violations(decisions)
        return PolicyValidationPluginReportBeta1(
            success=not found,
            violations=[self._violation(d, stacks) for d in found],
        )

    @staticmethod
    def _read(template: str, stacks_by_template: dict[str, Stack], *, with_paths: bool = False):
        stack = stacks_by_template.get(str(Path(template).resolve()))
        paths = _construct_paths(stack) if stack and with_paths else None
        return read_stack(Path(template), stack.node.path if stack else None, paths)

    def _write_report(self, decisions: list[Decision], not_checked: dict[str, dict[str, int]]) -> None:
        report = {
            "rules": {rule.id: rule.title for rule in PACK.values()},
            "checked": [d.as_json() for d in decisions],
            "advisory": [d.as_json() for d in advisories(decisions)],
            "unchecked": not_checked,  # per stack, resources by type that no rule reads
        }
        (Path(self._app.outdir) / REPORT_FILE).write_text(report_json(report))

    def _violation(self, decision: Decision, stacks) -> PolicyViolationBeta1:
        template = next((str(s.template_path) for s in stacks if s.name == decision.stack), "")
        return PolicyViolationBeta1(
            rule_name=decision.rule,
            description=f"{PACK[decision.rule].title}: found {decision.found}",
            fix=decision.fix,
            severity="fatal",  # CDK never suppresses a fatal violation through an acknowledgement
            violating_resources=[
                PolicyViolatingResourceBeta1(
                    resource_logical_id=decision.logical_id, template_path=template, locations=[decision.type]
                )
            ],
        )


def report_json(report: dict[str, Any]) -> str:
    """The report as JSON with one entry per line: readable and diffable, and written by json's C encoder (`indent`
    would switch to its pure-Python one, a tenth of a second at a thousand functions)."""
    sections = []
    for key, value in report.items():
        if isinstance(value, list) and value:
            items = ",\n    ".join(json.dumps(item) for item in value)
            sections.append(f"  {json.dumps(key)}: [\n    {items}\n  ]")
        elif isinstance(value, dict) and value:
            items = ",\n    ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            sections.append(f"  {json.dumps(key)}: {{\n    {items}\n  }}")
        else:
            sections.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def _stacks(scope: IConstruct):
    """Top-level stacks of an App and of its Stages (not NestedStacks: their resources sit in the parent's)."""
    for child in scope.node.children:
        if isinstance(child, Stack):
            yield child
        elif isinstance(child, Stage):
            yield from _stacks(child)


def _construct_paths(stack: Stack) -> dict[str, str]:
    """Logical id or asset hash -> construct path in a stack and its NestedStacks (in-process apps write no
    path metadata)."""
    from aws_cdk.aws_ecr_assets import DockerImageAsset  # only a violation without a path needs it

    paths = {}
    for node in stack.node.find_all():
        if isinstance(node, CfnResource):
            paths[Stack.of(node).resolve(node.logical_id)] = node.node.path
        elif isinstance(node, DockerImageAsset):
            paths[node.asset_hash] = node.node.path
    return paths


def guard(scope: Construct) -> None:
    """Protect an App or a Stage: CDK's own functions go arm64 here, and any x86 anywhere fails synth.

    For an App, call it anywhere before synth. A Stage needs its own `guard(self)` (or `GuardedStage`)
    for remediation to reach inside it; its templates are checked by the App's guard either way.
    """
    if not isinstance(scope, Stage):
        raise TypeError(f"guard(scope): scope must be an App or a Stage, not {type(scope).__name__}")
    if not is_guarded(scope):
        scope.node.add_validation(RemediateCdkFunctions(scope))
        setattr(scope, _GUARDED, True)
    root = scope.node.root
    if isinstance(root, App) and not getattr(root, _PLUGIN, None):
        _guard_app(root)


def _guard_app(app: App) -> None:
    plugin = GuardPlugin(app)
    Validations.of(app).add_plugins(plugin)
    setattr(app, _PLUGIN, plugin)
    cdk_synth = app.synth

    def synth(**kwargs):
        """app.synth() that raises on any violation, also where CDK itself would only report it."""
        try:
            assembly = cdk_synth(**kwargs)
        except RuntimeError as err:
            found = violations(plugin.decisions)
            if found:
                raise GuardViolationError(found) from err
            raise
        found = violations(plugin.decisions)
        if found:
            raise GuardViolationError(found)
        return assembly

    app.synth = synth
    _report_violations_without_traceback()


def _report_violations_without_traceback() -> None:
    """An uncaught GuardViolationError prints its list and nothing else (exit 1): the violations are the news, the
    stack through jsii and CDK's synth is not. Any other exception goes to the hook that was there before."""
    previous = sys.excepthook
    if getattr(previous, "_graviton_guard", False):
        return

    def hook(kind, error, traceback):
        if issubclass(kind, GuardViolationError):
            print(error, file=sys.stderr)
        else:
            previous(kind, error, traceback)

    hook._graviton_guard = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def guard_report(app: App) -> list[Decision]:
    """What the guard decided in the last synth of `app` (empty before synth or when unguarded)."""
    plugin = getattr(app, _PLUGIN, None)
    return list(plugin.decisions) if plugin else []


def guard_summary(app: App) -> str:
    """The per-stack table the guard printed in the last synth of `app` (empty before synth or when unguarded)."""
    plugin = getattr(app, _PLUGIN, None)
    return plugin.summary if plugin else ""


class GuardedStage(Stage):
    """A Stage that guards itself in its constructor, as CDK Pipelines synthesizes stages when added."""

    def __init__(self, scope: Construct, id: str, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        guard(self)


def is_guarded(scope: IConstruct) -> bool:
    return bool(getattr(scope, _GUARDED, False))


__all__ = ["GuardViolationError", "GuardedStage", "guard", "guard_report", "guard_summary", "is_guarded"]
