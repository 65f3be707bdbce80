"""60 services in one environment: every template within CloudFormation's limits, each service a nested stack wired
by parameters, nothing exported. Its own module, so that it runs beside the shared app's tests, not after them."""

from __future__ import annotations

import json

import pytest
from bench.scale_growth import limit_crossings, template_stats
from scaffolding import repository_copy, scaffold
from support import PARENT_OUTPUTS, Synthesized, assert_nested_per_service, assert_nothing_exported, synthesize

# 60 services: 30 on Lambda and 30 on ECS beside cdk.json's own, in dev only (one environment's stacks show how
# templates grow; the promoted environments' service stacks are smaller).
SIXTY = {f"svc-{number:02d}": ("lambda" if number % 2 else "ecs") for number in range(60)}


@pytest.fixture(scope="module")
def sixty(tmp_path_factory) -> Synthesized:
    root = repository_copy(tmp_path_factory.mktemp("sixty"))
    scaffold(root, SIXTY)
    context = json.loads((root / "cdk.json").read_text())["context"]
    context["environments"] = {"dev": context["environments"]["dev"]}
    context["eks"] = []
    return synthesize(context, tmp_path_factory.mktemp("sixty.out"), root=root)


def test_sixty_services_synthesize_with_every_template_within_cloudformations_limits(sixty):
    assert sixty.error is None
    assert len(sixty.config.services) >= 60
    assert {t for name in SIXTY for t in sixty.config.service(name).targets} == {"lambda", "ecs"}
    templates = template_stats(sixty.outdir)
    assert len(templates) == 1 + len(sixty.config.services)
    assert limit_crossings(templates) == []
    assert_nested_per_service(sixty, "dev")
    assert_nothing_exported(sixty, "dev")
    # The environment's stack grows by one resource (the nested stack) per service, its outputs not at all.
    parent = sixty.template_dict("dev")
    assert set(parent["Outputs"]) <= PARENT_OUTPUTS
    shared = len(parent["Resources"]) - len(sixty.config.services)
    assert 0 < shared < 100


def test_sixty_services_pass_cfn_lint(sixty):
    """The environment's stack with its 60 nested stack resources, and one service's stack of each target (the
    others differ from it by names only)."""
    import cfnlint.api

    templates = {"DevStack": sixty.template_dict("dev")}
    for target in ("lambda", "ecs"):
        name = next(n for n, t in SIXTY.items() if t == target)
        templates[name] = sixty.service("dev", name).document
    errors = [
        f"{name}: {m}"
        for name, template in templates.items()
        for m in cfnlint.api.lint(json.dumps(template), regions=["us-east-1"])
        if m.rule.id.startswith("E")
    ]
    assert errors == []
