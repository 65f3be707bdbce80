"""`cdk synth -c eks=dev,prod`, run once with the real CLI: the listed environments get a Graviton EKS cluster that
applies the `eks` services; the others get none."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template
from support import ROOT, repo_context, run

from graviton.constants import EKS_AMI_TYPE
from graviton_app.config import load_config
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


def test_eks_is_off_by_default(synthesized):
    assert repo_context()["eks"] == []
    for environment in synthesized.stacks:
        synthesized.template(environment).resource_count_is("AWS::EKS::Cluster", 0)


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
    import cfnlint.api  # here, not at the top: only the worker that runs cfn-lint loads it (~1 s)

    template = json.dumps(with_eks.template_dict("dev"))
    assert [str(m) for m in cfnlint.api.lint(template, regions=["us-east-1"]) if m.rule.id.startswith("E")] == []
