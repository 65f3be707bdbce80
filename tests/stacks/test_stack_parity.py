"""The same environment stack from a laptop (`make deploy`, the stack at the app's top level) and from the pipeline
(the stack inside its stage under PipelineStack): the two templates must be the same, or switching between the two
ways of deploying would replace security groups and task definitions and roll the services."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support import repo_context

# An asset's content hash: in S3 keys (`<hash>.zip`), image tags and asset-parameter references. The only thing
# allowed to differ: where an asset lives, not what the stack builds with it.
ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def without_asset_locations(value: Any) -> Any:
    """The template with every asset hash replaced by one placeholder, and nothing else changed."""
    if isinstance(value, dict):
        return {ASSET_HASH.sub("<asset>", k): without_asset_locations(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_asset_locations(v) for v in value]
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset>", value)
    return value


def differences(left: Any, right: Any, where: str = "") -> list[str]:
    """Every place the two differ, as `path: left != right`, so a failure names what CDK derived differently."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(left.keys() | right.keys()):
            if key not in left or key not in right:
                found.append(f"{where}/{key}: only in the {'pipeline' if key in right else 'laptop'} template")
            else:
                found += differences(left[key], right[key], f"{where}/{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, (a, b) in enumerate(zip(left, right, strict=True)) for d in differences(a, b, f"{where}[{i}]")]
    return [] if left == right else [f"{where}: {json.dumps(left)} != {json.dumps(right)}"]


# Every environment cdk.json configures: each is a stack `make deploy` builds and a stage the pipeline deploys.
ENVIRONMENTS = sorted(repo_context()["environments"])


@pytest.fixture(scope="module")
def pipeline_stages(pipeline_synth):
    return pipeline_synth.app.node.find_child("PipelineStack").stages


def test_the_pipeline_deploys_every_environment_the_configuration_builds(synthesized, pipeline_stages):
    assert sorted(pipeline_stages) == sorted(synthesized.stacks) == ENVIRONMENTS


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_an_environment_stack_is_the_same_from_a_laptop_and_from_the_pipeline(
    synthesized, pipeline_synth, pipeline_stages, environment
):
    laptop = synthesized.template_dict(environment)
    pipeline = pipeline_synth.stack_template(pipeline_stages[environment].stack)
    found = differences(without_asset_locations(laptop), without_asset_locations(pipeline))
    assert not found, "\n".join(found)


def test_the_normalisation_hides_asset_hashes_only():
    template = {"S3Key": f"{'a' * 64}.zip", "Description": "DevStack/WebService", "Family": "DevStack-WebService"}
    assert without_asset_locations(template) == {**template, "S3Key": "<asset>.zip"}
    other_asset = {**template, "S3Key": f"{'b' * 64}.zip"}
    assert differences(without_asset_locations(template), without_asset_locations(other_asset)) == []
    assert differences(template, {**template, "Family": "PipelineStackDevDevStackWebServiceTaskA9ED1FA7"})


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_service_stack_is_the_same_from_a_laptop_and_from_the_pipeline(
    synthesized, pipeline_synth, pipeline_stages, environment
):
    """The nested stacks too, parameters included: CDK would name them after the full construct path, and switching
    between the two ways of deploying would then update every service's stack."""
    laptop_stack = synthesized.stacks[environment]
    pipeline_stack = pipeline_stages[environment].stack
    assert set(laptop_stack.services) == set(pipeline_stack.services) == {s.name for s in synthesized.config.services}
    for name, laptop_service in laptop_stack.services.items():
        laptop = synthesized.stack_template(laptop_service)
        pipeline = pipeline_synth.stack_template(pipeline_stack.services[name])
        assert laptop["Parameters"], name  # it does take values from its environment's stack
        found = differences(without_asset_locations(laptop), without_asset_locations(pipeline))
        assert not found, f"{name}:\n" + "\n".join(found)
