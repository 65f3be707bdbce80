"""Run the rule pack over stacks: one Decision per compute resource or image asset a rule applies to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass

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

    def line(self) -> str:
        return (
            f"{self.rule}  {self.path or self.stack + '/' + self.logical_id}  {self.type}  {self.found}  -> {self.fix}"
        )

    def as_json(self) -> dict:
        return asdict(self)


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
                    )
                )
    return decisions


def violations(decisions: Iterable[Decision]) -> list[Decision]:
    return [d for d in decisions if not d.compliant]


def summary_table(decisions: list[Decision]) -> str:
    """Per stack: compute resources and assets checked, remediated, violations."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for d in decisions:
        row = rows[d.stack]
        row[0] += 1
        row[1] += bool(d.remediated)
        row[2] += not d.compliant
    header = f"{'arm64 guard: stack':<40} {'checked':>8} {'remediated':>11} {'violations':>11}"
    lines = [header] + [f"{stack:<40} {c:>8} {r:>11} {v:>11}" for stack, (c, r, v) in rows.items()]
    return "\n".join(lines)
