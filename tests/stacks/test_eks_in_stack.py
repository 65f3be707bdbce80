"""`-c eks=dev`: the environment gets a Graviton EKS cluster that applies the `eks` services; others get none."""

from __future__ import annotations

import json

import cfnlint.api
import pytest
from support import ROOT, repo_context, run, synthesize

from graviton.constants import EKS_AMI_TYPE
from graviton_app.config import load_config


@pytest.fixture(scope="module")
def with_eks(tmp_path_factory):
    return synthesize({**repo_context(), "eks": "dev"}, tmp_path_factory.mktemp("eks"))


def test_eks_is_off_by_default(synthesized):
    assert repo_context()["eks"] == []
    for environment in synthesized.stacks:
        synthesized.template(environment).resource_count_is("AWS::EKS::Cluster", 0)


def test_only_the_listed_environment_gets_a_cluster_and_the_guard_and_nag_stay_clean(with_eks):
    assert with_eks.error is None  # the arm64 guard and cdk-nag both fail synth on any finding
    with_eks.template("dev").resource_count_is("AWS::EKS::Cluster", 1)
    with_eks.template("test").resource_count_is("AWS::EKS::Cluster", 0)
    with_eks.template("prod").resource_count_is("AWS::EKS::Cluster", 0)


def test_the_node_group_is_graviton_with_the_arm64_ami_from_config(with_eks):
    settings = load_config(repo_context(), root=ROOT).environments["dev"]
    (nodegroup,) = with_eks.template("dev").find_resources("AWS::EKS::Nodegroup").values()
    props = nodegroup["Properties"]
    assert props["AmiType"] == EKS_AMI_TYPE == "AL2023_ARM_64_STANDARD"
    assert props["InstanceTypes"] == settings.eks_instance_types
    assert (props["ScalingConfig"]["MinSize"], props["ScalingConfig"]["MaxSize"]) == (
        settings.eks_min_nodes,
        settings.eks_max_nodes,
    )


def test_no_lambda_runs_kubectl(with_eks):
    template = with_eks.template("dev").to_json()
    assert not [t for t in (r["Type"] for r in template["Resources"].values()) if t.startswith("Custom::AWSCDK-EKS")]
    for function in with_eks.template("dev").find_resources("AWS::Lambda::Function").values():
        assert "kubectl" not in json.dumps(function).lower()


def test_the_apply_build_deploys_the_eks_services_at_their_built_tags(with_eks):
    template = with_eks.template("dev")
    images = {
        image["Properties"]["RepositoryName"]["Ref"]: image["Properties"]["ImageTag"]
        for image in template.find_resources("Custom::ArmImageBuild").values()
    }
    repositories = template.find_resources("AWS::ECR::Repository")
    web = next(name for name, r in repositories.items() if r["Properties"]["RepositoryName"].endswith("-web"))
    projects = template.find_resources(
        "AWS::CodeBuild::Project", {"Properties": {"Environment": {"Type": "ARM_CONTAINER"}}}
    )
    (apply,) = [p for p in projects.values() if "MANIFESTS" in json.dumps(p)]
    manifests = next(v for v in apply["Properties"]["Environment"]["EnvironmentVariables"] if v["Name"] == "MANIFESTS")
    text = json.dumps(manifests["Value"])
    api = next(name for name, r in repositories.items() if r["Properties"]["RepositoryName"].endswith("-api"))
    assert f":{images[web]}" in text and json.dumps({"Ref": web}) in text  # web is an `eks` service
    assert json.dumps({"Ref": api}) not in text  # api runs on Lambda only
    outputs = template.to_json()["Outputs"]
    assert {"EksClusterName", "EksApplyProject"} <= set(outputs)


def test_the_stack_with_a_cluster_passes_cfn_lint(with_eks):
    template = json.dumps(with_eks.template_dict("dev"))
    assert [str(m) for m in cfnlint.api.lint(template, regions=["us-east-1"]) if m.rule.id.startswith("E")] == []


def test_cdk_synth_turns_eks_on_from_the_command_line(tmp_path):
    out = tmp_path / "cdk.out"
    result = run(["cdk", "synth", "--quiet", "-c", "eks=dev,prod", "--output", str(out)])
    assert result.returncode == 0, result.stderr
    clusters = {
        stack: len(
            [
                r
                for r in json.loads((out / f"{stack}.template.json").read_text())["Resources"].values()
                if r["Type"] == "AWS::EKS::Cluster"
            ]
        )
        for stack in ("DevStack", "TestStack", "ProdStack")
    }
    assert clusters == {"DevStack": 1, "TestStack": 0, "ProdStack": 1}
