"""`cdk synth -c eks=dev,prod`, run once with the real CLI: the listed environments get a Graviton EKS cluster that
applies the `eks` services; the others get none."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template
from support import ROOT, repo_context, run

from graviton.constants import EKS_AMI_TYPE
from graviton_app import naming
from graviton_app.config import AppConfig, load_config
from graviton_app.naming import stack_name

LISTED = ("dev", "prod")


class CliSynth:
    """The cloud assembly `cdk synth` wrote."""

    def __init__(self, outdir):
        self.outdir = outdir

    def template_dict(self, environment: str) -> dict:
        return json.loads((self.outdir / f"{stack_name(environment)}.template.json").read_text())

    def template(self, environment: str) -> Template:
        return Template.from_json(self.template_dict(environment))


@pytest.fixture(scope="module")
def with_eks(tmp_path_factory):
    out = tmp_path_factory.mktemp("eks") / "cdk.out"
    result = run(["cdk", "synth", "--quiet", "-c", f"eks={','.join(LISTED)}", "--output", str(out)])
    assert result.returncode == 0, result.stderr
    return CliSynth(out)


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
    template: Template, config: AppConfig, environment: str
) -> None:
    """Every `eks` service is in the apply build's manifests, from its repository at its built tag; no other is."""
    images = {
        image["Properties"]["RepositoryName"]["Ref"]: image["Properties"]["ImageTag"]
        for image in template.find_resources("Custom::ArmImageBuild").values()
    }
    repositories = {
        r["Properties"]["RepositoryName"]: name for name, r in template.find_resources("AWS::ECR::Repository").items()
    }
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
        repository = repositories[naming.repository_name(config.project, environment, service.name)]
        if "eks" in service.targets:
            assert f":{images[repository]}" in text and json.dumps({"Ref": repository}) in text, service.name
        else:
            assert json.dumps({"Ref": repository}) not in text, service.name  # runs on Lambda or ECS only
    outputs = template.to_json()["Outputs"]
    assert {naming.OUTPUT_EKS_CLUSTER, naming.OUTPUT_EKS_APPLY_PROJECT} <= set(outputs)


def test_the_apply_build_deploys_every_eks_service_of_the_configuration(synthesized):
    config = synthesized.config
    for environment in config.eks:
        assert_the_apply_build_deploys_the_eks_services_at_their_built_tags(
            synthesized.template(environment), config, environment
        )


def test_only_the_listed_environments_get_a_cluster_and_the_guard_and_nag_stay_clean(with_eks):
    environments = load_config(repo_context(), root=ROOT).environments
    clusters = {e: len(with_eks.template(e).find_resources("AWS::EKS::Cluster")) for e in environments}
    assert clusters == {e: int(e in LISTED) for e in environments}
    report = json.loads((with_eks.outdir / "validation-report.json").read_text())
    assert [r["conclusion"] for r in report["pluginReports"]] == ["success"] * len(report["pluginReports"])
    decisions = json.loads((with_eks.outdir / "arm64-report.json").read_text())["checked"]
    assert decisions and all(d["compliant"] for d in decisions)


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
    config = load_config(repo_context(), root=ROOT)
    assert_the_apply_build_deploys_the_eks_services_at_their_built_tags(with_eks.template("dev"), config, "dev")


def test_the_stack_with_a_cluster_passes_cfn_lint(with_eks):
    import cfnlint.api  # here, not at the top: only the worker that runs cfn-lint loads it (~1 s)

    template = json.dumps(with_eks.template_dict("dev"))
    assert [str(m) for m in cfnlint.api.lint(template, regions=["us-east-1"]) if m.rule.id.startswith("E")] == []
