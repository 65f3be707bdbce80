"""The environments `eks` lists get a Graviton EKS cluster that applies the `eks` services; the others get none (the
shared synth gives the first environment a cluster when cdk.json lists none, so this runs for any configuration)."""

from __future__ import annotations

import json

from support import ROOT, Synthesized, repo_context

from graviton.constants import EKS_AMI_TYPE
from graviton_app import naming
from graviton_app.config import load_config


def test_eks_is_off_by_default():
    context = {key: value for key, value in repo_context().items() if key != "eks"}
    assert load_config(context, root=ROOT).eks == []


def test_only_the_environments_eks_lists_get_a_cluster(synthesized):
    config = synthesized.config
    assert config.eks and set(config.eks) < set(synthesized.stacks)  # some environment has none
    for environment in synthesized.stacks:
        clusters = synthesized.template(environment).find_resources("AWS::EKS::Cluster")
        assert len(clusters) == int(environment in config.eks), environment


def assert_the_apply_build_deploys_the_eks_services_at_their_built_tags(
    synthesized: Synthesized, environment: str
) -> None:
    """Every `eks` service is in the apply build's manifests, from its repository (an output of its nested stack) at
    its built tag; no other service's stack is named there."""
    config = synthesized.config
    template = synthesized.template(environment)
    projects = template.find_resources(
        "AWS::CodeBuild::Project", {"Properties": {"Environment": {"Type": "ARM_CONTAINER"}}}
    )
    (apply,) = [p for p in projects.values() if "MANIFESTS" in json.dumps(p)]
    variables = {v["Name"]: v["Value"] for v in apply["Properties"]["Environment"]["EnvironmentVariables"]}
    text = json.dumps(variables["MANIFESTS"])
    eks_services = sorted(s.name for s in config.services if "eks" in s.targets)
    assert eks_services
    assert variables["DEPLOYMENTS"] == " ".join(eks_services)
    for service in config.services:
        stacks = synthesized.service(environment, service.name)
        nested_id = stacks.resource[0]
        if "eks" not in service.targets:
            assert nested_id not in text, service.name  # runs on Lambda or ECS only
            continue
        nested = stacks.document
        (image,) = stacks.template.find_resources("Custom::ArmImageBuild").values()
        repository = image["Properties"]["RepositoryName"]
        if isinstance(repository, str):  # a promoted image: the building environment's repository, by name
            assert f"/{repository}:" in text, service.name
        else:  # built here: the repository's name reaches the manifests as its nested stack's output of it
            keys = [key for key, output in nested.get("Outputs", {}).items() if output["Value"] == repository]
            assert any(json.dumps({"Fn::GetAtt": [nested_id, f"Outputs.{key}"]}) in text for key in keys), service.name
        assert f":{image['Properties']['ImageTag']}" in text, service.name
    outputs = template.to_json()["Outputs"]
    assert {naming.OUTPUT_EKS_CLUSTER, naming.OUTPUT_EKS_APPLY_PROJECT} <= set(outputs)


def test_the_apply_build_deploys_every_eks_service_of_the_configuration(synthesized):
    for environment in synthesized.config.eks:
        assert_the_apply_build_deploys_the_eks_services_at_their_built_tags(synthesized, environment)


def test_the_environments_with_a_cluster_pass_the_guard_and_nag(synthesized):
    assert synthesized.config.eks and synthesized.error is None  # cdk-nag's findings would have failed the synth
    decisions = json.loads((synthesized.outdir / "arm64-report.json").read_text())["checked"]
    node_groups = [d for d in decisions if d["type"] == "AWS::EKS::Nodegroup"]
    assert len(node_groups) == len(synthesized.config.eks) and all(d["compliant"] for d in decisions)


def test_the_node_group_is_graviton_with_the_arm64_ami_from_config(synthesized):
    for environment in synthesized.config.eks:
        settings = synthesized.config.environments[environment]
        (nodegroup,) = synthesized.template(environment).find_resources("AWS::EKS::Nodegroup").values()
        props = nodegroup["Properties"]
        assert props["AmiType"] == EKS_AMI_TYPE == "AL2023_ARM_64_STANDARD"
        assert props["InstanceTypes"] == settings.eks_instance_types
        assert (props["ScalingConfig"]["MinSize"], props["ScalingConfig"]["MaxSize"]) == (
            settings.eks_min_nodes,
            settings.eks_max_nodes,
        )


def test_no_lambda_runs_kubectl(synthesized):
    for environment in synthesized.config.eks:
        template = synthesized.template(environment)
        types = [r["Type"] for r in template.to_json()["Resources"].values()]
        assert not [t for t in types if t.startswith("Custom::AWSCDK-EKS")]
        for function in template.find_resources("AWS::Lambda::Function").values():
            assert "kubectl" not in json.dumps(function).lower()
