"""Contract: every compute type in the registry schemas the pinned cfn-lint ships has a decision in the guard."""

from __future__ import annotations

import json
import sys

import pytest
from support import run

from graviton.guardrails.coverage import (
    DECIDED,
    OUT_OF_SCOPE,
    Status,
    cfn_lint_schemas,
    compute_types_in_schemas,
    schema_types,
)
from graviton.guardrails.rules import ASSET
from graviton.guardrails.rules.pack import PACK, RULES


@pytest.fixture(scope="module")
def inventory() -> dict[str, set[str]]:
    return compute_types_in_schemas()


def test_every_compute_type_in_the_schemas_is_decided(inventory):
    undecided = {type_: sorted(names) for type_, names in inventory.items() if type_ not in DECIDED}
    assert not undecided, (
        "cfn-lint's schemas name compute in types the guard has not decided; decide each in "
        f"graviton/guardrails/coverage.py (a rule's applies_to, or OUT_OF_SCOPE with its reason): {undecided}"
    )


def test_the_inventory_finds_compute_and_only_compute(inventory):
    """The walker reads nested definitions (a Spot fleet's launch specifications) and leaves storage alone."""
    assert {"InstanceType", "InstanceRequirements"} <= inventory["AWS::EC2::SpotFleet"]
    assert "Architectures" in inventory["AWS::Lambda::Function"]
    assert "Architectures" in inventory["AWS::Serverless::Function"]  # SAM's schema ships with cfn-lint
    assert "InstanceRequirements" in inventory["AWS::ECS::CapacityProvider"]  # ECS managed instances
    assert "AWS::S3::Bucket" not in inventory


def test_a_new_compute_type_in_an_upgraded_schema_is_found(tmp_path):
    (tmp_path / "providers").mkdir()
    (tmp_path / "resources").mkdir()
    (tmp_path / "providers" / "xx-east-1.json").write_text(json.dumps({"AWS::New::Fleet": "h1", "AWS::New::Tag": "h2"}))
    nested = {"definitions": {"Spec": {"properties": {"MachineInstanceType": {"type": "string"}}}}, "properties": {}}
    (tmp_path / "resources" / "h1.json").write_text(json.dumps(nested))
    (tmp_path / "resources" / "h2.json").write_text(json.dumps({"properties": {"Key": {"type": "string"}}}))
    assert compute_types_in_schemas(tmp_path) == {"AWS::New::Fleet": {"MachineInstanceType"}}


def test_every_type_a_rule_reads_is_decided_as_that_rule():
    for rule in RULES:
        for type_ in set(rule.applies_to) - {ASSET}:
            decision = DECIDED[type_]
            assert decision.rule in PACK and type_ in PACK[decision.rule].applies_to
            assert decision.status is (Status.ADVISORY if rule.advisory else Status.CHECKED)


def test_every_checked_or_advisory_decision_is_its_rules():
    """Read the other way round: no hand-written or stale entry names a rule that does not read the type."""
    for type_, decision in DECIDED.items():
        if decision.status is Status.OUT_OF_SCOPE:
            continue
        rule = PACK[decision.rule]
        assert type_ in rule.applies_to, type_
        assert rule.advisory is (decision.status is Status.ADVISORY), type_
        assert decision.reason == rule.title


def test_the_table_imports_without_cfn_lint():
    """The guard runs at synth, where cfn-lint need not be installed; only the inventory walker needs it."""
    script = (
        "import sys; sys.modules['cfnlint'] = None\n"  # makes cfn-lint unimportable and unfindable
        "from graviton.guardrails.coverage import DECIDED, cfn_lint_schemas\n"
        "assert DECIDED\n"
        "try:\n    cfn_lint_schemas()\nexcept ModuleNotFoundError as error:\n    print(error)\n"
    )
    result = run([sys.executable, "-c", script])
    assert result.returncode == 0, result.stderr
    assert "cfn-lint is not installed" in result.stdout


def test_out_of_scope_decisions_have_a_reason_and_no_rule():
    for type_ in OUT_OF_SCOPE:
        assert DECIDED[type_].status is Status.OUT_OF_SCOPE and DECIDED[type_].rule is None
        assert len(DECIDED[type_].reason.split()) >= 3, type_


def test_no_decision_is_stale():
    """A type that left the schemas (renamed, withdrawn) leaves the table too."""
    known = set(schema_types(cfn_lint_schemas()))
    assert not set(DECIDED) - known
