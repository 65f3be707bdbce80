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


def test_build_and_gatekeeper_roles_have_the_names_a_retained_repositorys_policy_keeps(synthesized):
    """A retained repository's policy names its pushers by ARN; an adopting stack's roles must have the same ARNs."""
    config = synthesized.config
    parent = synthesized.template("dev")
    parent.has_resource_properties(
        "AWS::IAM::Role", {"RoleName": naming.role_name(config.project, "dev", "gatekeeper")}
    )
    for service in config.services:
        document = synthesized.service("dev", service.name).document
        (project,) = [r for r in document["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
        role = document["Resources"][project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]]
        assert role["Properties"]["RoleName"] == naming.role_name(config.project, "dev", f"{service.name}-build")


def test_role_names_fit_iam_and_stay_apart_when_cut():
    long_project, long_service = "p" * 30, "s" * 30
    first = naming.role_name(long_project, "prod", f"{long_service}-build")
    second = naming.role_name(long_project, "prod", f"{long_service[:-1]}t-build")
    assert len(first) == len(second) == 64 and first != second
    assert naming.role_name("shop", "dev", "web-build") == "shop-dev-web-build"
