"""The guard's rules: each a small pure function over one resource or image asset of the final assembly.

A rule returns a Verdict: compliant, not compliant (with what it found), or not applicable.
`PACK` maps every rule id to its rule; tests hold its list of ids as a contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Compliance(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class Verdict:
    compliance: Compliance
    found: str = ""  # the architecture or value the rule saw, e.g. "x86_64 (Architectures unset)"
    fix: str | None = None  # overrides the rule's fix where the case needs another one


NOT_APPLICABLE = Verdict(Compliance.NOT_APPLICABLE)


def compliant(found: str) -> Verdict:
    return Verdict(Compliance.COMPLIANT, found)


def violation(found: str, fix: str | None = None) -> Verdict:
    return Verdict(Compliance.NON_COMPLIANT, found, fix)


@dataclass(frozen=True)
class Resource:
    """One resource of a final CloudFormation template."""

    logical_id: str
    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""  # construct path, where known
    remediated: str = ""  # which CDK function the guard switched to arm64, if it did
    code_assets: tuple[str, ...] = ()  # local files or folders of the code the resource deploys (file assets)


@dataclass(frozen=True)
class ImageAsset:
    """One Docker image asset of a stack's asset manifest."""

    asset_hash: str
    platform: str | None
    dockerfile: str | None  # the Dockerfile's text, when the build context is in the assembly
    path: str = ""
    dockerfile_name: str = "Dockerfile"


ASSET = "docker-image-asset"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    explanation: str
    fix: str
    applies_to: tuple[str, ...]  # CloudFormation resource types, or (ASSET,)
    check: Callable[[Any], Verdict]
    advisory: bool = False  # reported in arm64-report.json with the arm64 alternative; never fails synth
    cfn_fix: str = ""  # the fix in CloudFormation terms (property and value), for templates not written with CDK


def is_token(value: Any) -> bool:
    """A value CloudFormation decides at deploy time (Ref, Fn::*): the guard cannot prove it arm64."""
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))


def unresolved(value: Any) -> str:
    return f"unresolved at synth: {json.dumps(value, sort_keys=True)}"


def get(properties: Mapping[str, Any], *keys: str) -> Any:
    """properties[k1][k2]... or None; stops at a token so the caller can refuse it."""
    value: Any = properties
    for key in keys:
        if is_token(value) or not isinstance(value, Mapping):
            return value if is_token(value) else None
        value = value.get(key)
    return value


def architecture_verdict(value: Any, *, arm64: str = "ARM64", unset: str) -> Verdict:
    """The verdict on one CPU-architecture property: a token cannot be proven, `arm64` passes, and anything
    else is x86, an unset value (described by `unset`) included."""
    if is_token(value):
        return violation(unresolved(value))
    if value == arm64:
        return compliant(arm64)
    return violation(value or unset)


def fix_for_path(path: str, fixes_by_marker: Mapping[str, str]) -> str | None:
    """The fix of the first marker found in a construct path (CDK parts that need another remedy), or None."""
    return next((fix for marker, fix in fixes_by_marker.items() if marker in path), None)


def values_at(properties: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at a dotted path, `[]` stepping into each list item: `A.B[].C`. A token met on the way is
    returned as the value, so the caller refuses what it cannot resolve."""
    found: list[Any] = [properties]
    for step in path.split("."):
        key, each = step.removesuffix("[]"), step.endswith("[]")
        next_found: list[Any] = []
        for value in found:
            if is_token(value):
                next_found.append(value)
                continue
            item = value.get(key) if isinstance(value, Mapping) else None
            if item is None:
                continue
            if each and isinstance(item, list):
                next_found.extend(item)
            else:
                next_found.append(item)
        found = next_found
    return found
