"""Each service in a nested stack of its environment's stack: wired by parameters, nothing exported, and the
environment's own outputs the same whatever the number of services."""

from __future__ import annotations

import pytest
from support import PARENT_OUTPUTS, assert_nested_per_service, assert_nothing_exported, repo_context

from graviton_app import naming


@pytest.mark.parametrize("environment", sorted(repo_context()["environments"]))
def test_each_service_is_a_nested_stack_wired_by_parameters_from_its_environment(synthesized, environment):
    assert_nested_per_service(synthesized, environment)


@pytest.mark.parametrize("environment", sorted(repo_context()["environments"]))
def test_no_template_exports_or_imports_a_value(synthesized, environment):
    """Exports would block deleting or replacing what another stack imports."""
    assert_nothing_exported(synthesized, environment)


@pytest.mark.parametrize("environment", sorted(repo_context()["environments"]))
def test_the_environments_own_outputs_do_not_grow_with_services(synthesized, environment):
    outputs = set(synthesized.template_dict(environment).get("Outputs", {}))
    assert outputs <= PARENT_OUTPUTS
    for service in synthesized.config.services:
        nested = synthesized.service(environment, service.name).document.get("Outputs", {})
        assert naming.output_key(service.name, naming.OUTPUT_IMAGE_URI) in nested
