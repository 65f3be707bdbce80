"""Run the rule pack over stacks: one Decision per compute resource or image asset a rule applies to."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from graviton.guardrails.assembly import StackContent
from graviton.guardrails.rules import ASSET, Compliance, ImageAsset, Resource, Rule
from graviton.guardrails.rules.pack import RULES

_RULES_BY_TYPE: dict[str, list[Rule]] = defaultdict(list)
for _rule in RULES:
    for _type in _rule.applies_to:
        _RULES_BY_TYPE[_type].append(_rule)


@dataclass(frozen=True)
class Decision:
    stack: str
    path: str
    logical_id: str
    type: str
    rule: str
    compliant: bool
    found: str
    fix: str
    remediated: str = ""  # what the guard switched to arm64 (CDK's own functions), else empty
    advisory: bool = False  # an advisory rule's verdict: reported, never a violation
    cfn_fix: str = ""  # the fix in CloudFormation terms, for templates not written with CDK

    def in_cloudformation_terms(self) -> Decision:
        """The same decision with its fix said as a property and value to set."""
        return replace(self, fix=self.cfn_fix) if self.cfn_fix else self

    def line(self) -> str:
        return (
            f"{self.rule}  {self.path or self.stack + '/' + self.logical_id}  {self.type}  {self.found}  -> {self.fix}"
        )

    def as_json(self) -> dict:
        return dict(vars(self))  # every field is a str or a bool: a shallow copy is the whole record


def evaluate(stacks: Iterable[StackContent]) -> list[Decision]:
    """Every verdict that applies, compliant or not."""
    decisions = []
    for stack in stacks:
        # (what the rules see, which rules apply, type shown, id, what remediation did)
        subjects: list[tuple[Resource | ImageAsset, str, str, str, str]] = [
            (r, r.type, r.type, r.logical_id, r.remediated) for r in stack.resources
        ]
        subjects += [(a, ASSET, "DockerImageAsset", a.asset_hash, "") for a in stack.assets]
        for subject, rules_key, type_, logical_id, remediated in subjects:
            for rule in _RULES_BY_TYPE.get(rules_key, ()):
                verdict = rule.check(subject)
                if verdict.compliance is Compliance.NOT_APPLICABLE:
                    continue
                decisions.append(
                    Decision(
                        stack=stack.name,
                        path=subject.path,
                        logical_id=logical_id,
                        type=type_,
                        rule=rule.id,
                        compliant=verdict.compliance is Compliance.COMPLIANT,
                        found=verdict.found,
                        fix=verdict.fix or rule.fix,
                        remediated=remediated,
                        advisory=rule.advisory,
                        cfn_fix=rule.cfn_fix,
                    )
                )
    return decisions


def violations(decisions: Iterable[Decision]) -> list[Decision]:
    """What fails synth: every non-compliant verdict of a rule that is not advisory."""
    return [d for d in decisions if not d.compliant and not d.advisory]


def advisories(decisions: Iterable[Decision]) -> list[Decision]:
    """What is reported with its arm64 alternative and never fails synth."""
    return [d for d in decisions if not d.compliant and d.advisory]


def unchecked(stacks: Iterable[StackContent]) -> dict[str, dict[str, int]]:
    """Per stack, how many resources of each type no rule looks at (buckets, roles, ... and any type newer than
    the guard): said, not hidden."""
    return {
        stack.name: dict(sorted(Counter(r.type for r in stack.resources if r.type not in _RULES_BY_TYPE).items()))
        for stack in stacks
    }


def summary_table(
    decisions: list[Decision],
    not_checked: Mapping[str, Mapping[str, int]] | None = None,
    *,
    shown_as: Mapping[str, str] | None = None,
) -> str:
    """Per stack: resources and assets checked, remediated, violations, advisories, and resources no rule reads.

    Rows follow `not_checked`'s stacks, then any other stack a decision names. `shown_as`: a stack's name -> what
    its row shows (default: the name).
    """
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for stack in not_checked or {}:
        rows[stack]  # a stack with nothing to check still gets its row
    for d in decisions:
        row = rows[d.stack]
        row[0] += 1
        row[1] += bool(d.remediated)
        row[2] += not d.compliant and not d.advisory
        row[3] += not d.compliant and d.advisory
    header = f"{'arm64 guard: stack':<40} {'checked':>8} {'remediated':>11} {'violations':>11} {'advisory':>9}"
    if not_checked is not None:
        header += f" {'unchecked':>10}"
    lines = [header]
    for stack, (c, r, v, a) in rows.items():
        line = f"{(shown_as or {}).get(stack, stack):<40} {c:>8} {r:>11} {v:>11} {a:>9}"
        if not_checked is not None:
            line += f" {sum((not_checked.get(stack) or {}).values()):>10}"
        lines.append(line)
    return "\n".join(lines)
