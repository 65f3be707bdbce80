"""ArmEksCluster: Graviton nodes, access entries, no Lambda or kubectl handler, an ARM CodeBuild apply, clean nag.

One small stack (a VPC, the api service's repository and ArmImageBuild, and the cluster) is synthesized once for the
module, guarded for arm64 and checked by cdk-nag. The manifests are unit-tested as the pure function they are, and
the apply buildspec runs in bash against fake uname, curl, file, aws and kubectl.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import CfnResource, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from support import ROOT

from graviton import ArmEksCluster, ArmImageBuild, ImageRepository
from graviton.constants import CONTAINER_PORT, EKS_AMI_TYPE, HEALTH_PATH
from graviton.eks.arm_eks_cluster import BUILDSPEC
from graviton.eks.manifests import NAMESPACE, workload_manifests
from graviton.guardrails.guard import guard
from graviton.image_build.image_build_provider import ImageBuildProvider

ADMIN = "arn:aws:iam::123456789012:role/PlatformAdmin"
VERSION = "1.34"
ARM_IMAGE = "aws/codebuild/amazonlinux-aarch64-standard:3.0"


@dataclass
class Synth:
    app: cdk.App
    stack: Stack
    cluster: ArmEksCluster
    build: ArmImageBuild
    template: Template
    outdir: Path
    error: Exception | None

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


def vpc_in(stack: Stack, max_azs: int = 2) -> ec2.Vpc:
    """Public subnets only, no NAT: the nodes reach ECR and the cluster endpoint through the internet gateway."""
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=max_azs,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
    vpc.add_flow_log("FlowLog")  # AwsSolutions-VPC7: the test VPC itself must not need an acknowledgement
    return vpc


PUBLIC = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    guard(app)
    stack = Stack(app, "EksStack")
    repository = ImageRepository(stack, "ApiRepository", repository_name="gg-dev-api")
    build = ArmImageBuild(
        stack, "ApiBuild", repository=repository, source_dir=ROOT / "docker" / "api", dockerfile="Dockerfile.lambda"
    )
    cluster = ArmEksCluster(
        stack,
        "Eks",
        vpc=vpc_in(stack),
        subnets=PUBLIC,
        version=VERSION,
        instance_types=["t4g.medium", "m7g.large"],
        min_nodes=1,
        max_nodes=3,
        admin_role_arns=[ADMIN],
        workloads={"api": build},
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
        error = None
    except RuntimeError as err:  # cdk-nag findings and guard violations both fail synth
        error = err
    template = Template.from_json(json.loads((outdir / stack.template_file).read_text()))
    return Synth(app, stack, cluster, build, template, outdir, error)


def resources(synth: Synth, type_: str) -> list[dict[str, Any]]:
    return list(synth.template.find_resources(type_).values())


# --- synth is clean ---------------------------------------------------------------------------------------------


def test_synth_is_clean_with_no_nag_findings_and_the_guard_passes(synth):
    report = synth.outdir / "validation-report.json"
    assert synth.error is None, report.read_text() if report.exists() else synth.error
    [nag] = [p for p in json.loads(report.read_text())["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []


def test_the_guard_checked_the_node_group_and_the_apply_project(synth):
    checked = json.loads((synth.outdir / "arm64-report.json").read_text())["checked"]
    assert all(entry["compliant"] for entry in checked)
    project = synth.resolve(synth.cluster.apply_project.node.default_child.logical_id)
    by_rule = {(e["rule"], e["logical_id"]): e["found"] for e in checked}
    assert by_rule[("GG-CODEBUILD", project)] == "ARM_CONTAINER"
    nodegroup = synth.resolve(synth.cluster.nodegroup.logical_id)
    assert by_rule[("GG-EKS", nodegroup)] == f"{EKS_AMI_TYPE} on t4g.medium,m7g.large"


def test_acknowledgements_name_one_finding_each_with_a_reason(synth):
    found = [
        (node, rule_id, reason)
        for node in synth.cluster.node.find_all()
        for entry in node.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule_id, reason in entry.data.items()
    ]
    assert {rule_id.removeprefix("AwsSolutions::") for _, rule_id, _ in found} >= {
        "AwsSolutions-EKS1",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy]",
    }
    for node, rule_id, reason in found:
        assert not isinstance(node, Stack), rule_id
        assert len(reason) >= 20, rule_id
        if "IAM4" in rule_id or "IAM5" in rule_id:
            assert "[" in rule_id, f"{rule_id} must name one finding"


# --- the cluster ------------------------------------------------------------------------------------------------


def test_the_node_group_is_graviton_with_the_arm64_ami_and_the_given_scaling(synth):
    synth.template.resource_count_is("AWS::EKS::Nodegroup", 1)
    synth.template.has_resource_properties(
        "AWS::EKS::Nodegroup",
        {
            "AmiType": EKS_AMI_TYPE,
            "InstanceTypes": ["t4g.medium", "m7g.large"],
            "ScalingConfig": {"MinSize": 1, "MaxSize": 3, "DesiredSize": 1},
            "ClusterName": synth.resolve(synth.cluster.cluster.ref),
        },
    )
    assert EKS_AMI_TYPE == "AL2023_ARM_64_STANDARD"


def test_the_cluster_uses_access_entries_all_control_plane_logs_and_its_own_secrets_key(synth):
    [cluster] = resources(synth, "AWS::EKS::Cluster")
    props = cluster["Properties"]
    assert props["Version"] == VERSION
    assert props["AccessConfig"] == {"AuthenticationMode": "API", "BootstrapClusterCreatorAdminPermissions": False}
    assert props["UpgradePolicy"] == {"SupportType": "STANDARD"}  # never the 6x extended-support price
    assert [t["Type"] for t in props["Logging"]["ClusterLogging"]["EnabledTypes"]] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    vpc = props["ResourcesVpcConfig"]
    assert vpc["EndpointPublicAccess"] is True and vpc["EndpointPrivateAccess"] is True
    assert len(vpc["SubnetIds"]) == 2
    [encryption] = props["EncryptionConfig"]
    assert encryption["Resources"] == ["secrets"]
    assert encryption["Provider"]["KeyArn"] == synth.resolve(synth.cluster.secrets_key.key_arn)
    key = synth.template.find_resources("AWS::KMS::Key")[
        synth.resolve(synth.cluster.secrets_key.node.default_child.logical_id)
    ]
    assert key["Properties"]["EnableKeyRotation"] is True


def test_the_clusters_keys_are_deleted_with_what_they_encrypt(synth):
    """The secrets key (found through the cluster's EncryptionConfig) and each build's artifacts key (through its
    project's EncryptionKey): the cluster and the builds go with the stack, so do their keys, after 7 days."""
    keys = synth.template.find_resources("AWS::KMS::Key")
    [cluster] = resources(synth, "AWS::EKS::Cluster")
    [encryption] = cluster["Properties"]["EncryptionConfig"]
    used = [encryption["Provider"]["KeyArn"]["Fn::GetAtt"][0]]
    used += [p["Properties"]["EncryptionKey"]["Fn::GetAtt"][0] for p in resources(synth, "AWS::CodeBuild::Project")]
    assert len(set(used)) == 3  # secrets, the image build's artifacts, the apply build's artifacts
    for key in set(used):
        assert (keys[key]["DeletionPolicy"], keys[key]["UpdateReplacePolicy"]) == ("Delete", "Delete")
        assert keys[key]["Properties"]["PendingWindowInDays"] == 7


def test_control_plane_logs_expire(synth):
    synth.template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": f"/aws/eks/{synth.cluster.cluster_name}/cluster", "RetentionInDays": 30},
    )


def test_no_lambda_no_kubectl_layer_and_no_cdk_eks_custom_resources(synth):
    types = {r["Type"] for r in synth.template.to_json()["Resources"].values()}
    assert not [t for t in types if t.startswith("Custom::AWSCDK-EKS")]
    assert "AWS::Lambda::LayerVersion" not in types
    inside = [c for c in synth.cluster.node.find_all() if isinstance(c, CfnResource)]
    assert inside and not [
        c.node.path
        for c in inside
        if c.cfn_resource_type in ("AWS::Lambda::Function", "AWS::CloudFormation::CustomResource")
        or c.cfn_resource_type.startswith("Custom::")
    ]
    # The stack's only functions are the image build's own (arm64) provider, not anything the cluster brought.
    provider = ImageBuildProvider.of(synth.stack).node.path + "/"
    functions = [
        c
        for c in synth.stack.node.find_all()
        if isinstance(c, CfnResource) and c.cfn_resource_type == "AWS::Lambda::Function"
    ]
    assert len(functions) == len(resources(synth, "AWS::Lambda::Function"))
    assert all(f.node.path.startswith(provider) for f in functions)


def access_entries(synth: Synth) -> dict[str, dict[str, Any]]:
    """Principal (as resolved in the template) -> the entry's properties."""
    entries = [r["Properties"] for r in resources(synth, "AWS::EKS::AccessEntry")]
    return {json.dumps(e["PrincipalArn"], sort_keys=True): e for e in entries}


def access_policy(synth: Synth, name: str) -> Any:
    return synth.resolve(f"arn:{synth.stack.partition}:eks::aws:cluster-access-policy/{name}")


def test_each_admin_gets_cluster_admin_on_the_whole_cluster(synth):
    entry = access_entries(synth)[json.dumps(ADMIN)]
    assert entry["Type"] == "STANDARD"
    assert entry["ClusterName"] == synth.resolve(synth.cluster.cluster.ref)
    assert entry["AccessPolicies"] == [
        {
            "PolicyArn": access_policy(synth, "AmazonEKSClusterAdminPolicy"),
            "AccessScope": {"Type": "cluster"},
        }
    ]


def test_the_apply_role_may_only_edit_the_workload_namespace(synth):
    role = json.dumps(synth.resolve(synth.cluster.apply_project.role.role_arn), sort_keys=True)
    entries = access_entries(synth)
    assert set(entries) == {json.dumps(ADMIN), role}
    assert entries[role]["AccessPolicies"] == [
        {
            "PolicyArn": access_policy(synth, "AmazonEKSEditPolicy"),
            "AccessScope": {"Type": "namespace", "Namespaces": [NAMESPACE]},
        }
    ]


def test_the_apply_role_may_describe_this_cluster_and_nothing_else_in_eks(synth):
    role = synth.resolve(synth.cluster.apply_project.role.node.default_child.logical_id)
    statements = [
        s
        for policy in resources(synth, "AWS::IAM::Policy")
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    eks = [s for s in statements if any(a.startswith("eks:") for a in _list(s["Action"]))]
    assert eks == [
        {"Action": "eks:DescribeCluster", "Effect": "Allow", "Resource": synth.resolve(synth.cluster.cluster_arn)}
    ]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the apply project -------------------------------------------------------------------------------------------


def apply_project(synth: Synth) -> dict[str, Any]:
    logical_id = synth.resolve(synth.cluster.apply_project.node.default_child.logical_id)
    return synth.template.find_resources("AWS::CodeBuild::Project")[logical_id]


def variables(project: dict[str, Any]) -> dict[str, Any]:
    return {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}


def test_the_apply_project_is_an_unprivileged_arm_container(synth):
    environment = apply_project(synth)["Properties"]["Environment"]
    assert environment["Type"] == "ARM_CONTAINER"
    assert environment["Image"] == ARM_IMAGE
    assert environment.get("PrivilegedMode", False) is False


def test_the_apply_project_knows_the_cluster_and_its_version(synth):
    found = variables(apply_project(synth))
    assert found["CLUSTER_NAME"] == synth.resolve(synth.cluster.cluster.ref)
    assert found["KUBERNETES_VERSION"] == VERSION
    assert found["NAMESPACE"] == NAMESPACE
    assert found["DEPLOYMENTS"] == "api"


def test_the_apply_project_carries_the_generated_manifests_with_the_builds_tag(synth):
    found = variables(apply_project(synth))["MANIFESTS"]
    image = f"{synth.build.repository.repository_uri}:{synth.build.image_tag}"
    assert found == synth.resolve(synth.stack.to_json_string(workload_manifests({"api": image})))
    literal = "".join(part for part in found["Fn::Join"][1] if isinstance(part, str))
    assert f':{synth.build.image_tag}"' in literal


def test_the_apply_project_changes_only_after_its_images_exist(synth):
    image = synth.resolve(synth.build.image.node.default_child.logical_id)
    assert image in apply_project(synth)["DependsOn"]


def test_each_successful_deploy_of_the_stack_starts_the_apply(synth):
    synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.cloudformation"],
                "detail-type": ["CloudFormation Stack Status Change"],
                "detail": {
                    "stack-id": [{"Ref": "AWS::StackId"}],
                    "status-details": {"status": ["CREATE_COMPLETE", "UPDATE_COMPLETE"]},
                },
            },
            "Targets": [Match.object_like({"Arn": synth.resolve(synth.cluster.apply_project.project_arn)})],
        },
    )


def test_the_buildspec_in_the_project_is_the_packaged_file(synth):
    spec = json.loads(apply_project(synth)["Properties"]["Source"]["BuildSpec"])
    assert spec == yaml.safe_load(BUILDSPEC.read_text())


def test_no_workloads_means_no_apply_project():
    stack = Stack(cdk.App(), "S")
    cluster = ArmEksCluster(
        stack,
        "Eks",
        vpc=vpc_in(stack),
        subnets=PUBLIC,
        version=VERSION,
        instance_types=["t4g.small"],
        min_nodes=0,
        max_nodes=1,
    )
    template = Template.from_stack(stack)
    assert cluster.apply_project is None
    template.resource_count_is("AWS::CodeBuild::Project", 0)
    template.resource_count_is("AWS::EKS::AccessEntry", 0)
    template.resource_count_is("AWS::Events::Rule", 0)


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"instance_types": ["m5.large"]}, "ArmEksCluster: 'm5.large' is not a Graviton instance type"),
        ({"instance_types": ["t4g.medium", "g5.xlarge"]}, "ArmEksCluster: 'g5.xlarge' is not a Graviton instance type"),
        ({"instance_types": []}, "ArmEksCluster: instance_types is empty"),
        ({"version": "1.34.1"}, "ArmEksCluster: version must be a Kubernetes minor version such as '1.34'"),
        ({"min_nodes": 3, "max_nodes": 2}, "ArmEksCluster: min_nodes 3 is above max_nodes 2"),
        ({"min_nodes": 0, "max_nodes": 0}, "ArmEksCluster: min_nodes must be 0 or more and max_nodes 1 or more"),
        ({"min_nodes": -1}, "ArmEksCluster: min_nodes must be 0 or more and max_nodes 1 or more"),
        ({"admin_role_arns": [ADMIN, ADMIN]}, f"ArmEksCluster: admin role '{ADMIN}' is listed twice"),
        ({"admin_role_arns": [cdk.Fn.import_value("AdminRoleArn")]}, "ArmEksCluster: admin_role_arns must be known"),
        ({"max_azs": 1}, "ArmEksCluster: EKS needs subnets in at least two availability zones; the selection has 1"),
    ],
)
def test_bad_props_are_refused_with_one_line(props, message):
    stack = Stack(cdk.App(), "S")
    kwargs = {"version": VERSION, "instance_types": ["t4g.medium"], "min_nodes": 1, "max_nodes": 2, **props}
    vpc = vpc_in(stack, max_azs=kwargs.pop("max_azs", 2))
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        ArmEksCluster(stack, "Eks", vpc=vpc, subnets=PUBLIC, **kwargs)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "min_nodes", "message"),
    [
        ("Api_1", 1, "ArmEksCluster: workload name 'Api_1' is not a DNS label"),
        ("api", 0, "ArmEksCluster: workloads need a node to run on"),
    ],
)
def test_workloads_that_could_never_run_are_refused(synth, name, min_nodes, message):
    stack = Stack(cdk.App(), "S")
    kwargs = {"version": VERSION, "instance_types": ["t4g.medium"], "min_nodes": min_nodes, "max_nodes": 2}
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        ArmEksCluster(stack, "Eks", vpc=vpc_in(stack), subnets=PUBLIC, workloads={name: synth.build}, **kwargs)
    assert "\n" not in str(refused.value)


# --- the manifests (a pure function) -----------------------------------------------------------------------------

IMAGES = {"web": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gg-dev-web:abc123", "api": "repo/api:def456"}


def objects(kind: str, manifests: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in manifests["items"] if o["kind"] == kind}


def test_manifests_are_a_list_of_one_deployment_and_one_service_per_workload_sorted_by_name():
    manifests = workload_manifests(IMAGES)
    assert manifests["apiVersion"] == "v1" and manifests["kind"] == "List"
    assert [(o["kind"], o["metadata"]["name"]) for o in manifests["items"]] == [
        ("Deployment", "api"),
        ("Service", "api"),
        ("Deployment", "web"),
        ("Service", "web"),
    ]
    assert {o["metadata"]["namespace"] for o in manifests["items"]} == {NAMESPACE}


def test_every_pod_runs_only_on_arm64_nodes_with_its_builds_image():
    for name, deployment in objects("Deployment", workload_manifests(IMAGES)).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"kubernetes.io/arch": "arm64"}
        [container] = pod["containers"]
        assert container["image"] == IMAGES[name]
        assert container["ports"] == [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}]


def test_pods_are_probed_on_health_and_run_as_a_non_root_user_that_cannot_escalate():
    [deployment] = objects("Deployment", workload_manifests({"api": "repo/api:1"})).values()
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH_PATH, "port": "http"}
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == 10001
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsGroup"] == 10001
    # A read-only root, as on ECS, with /tmp the one writable place.
    assert security["readOnlyRootFilesystem"] is True
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert deployment["spec"]["template"]["spec"]["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_services_select_their_deployments_pods_on_the_named_port():
    manifests = workload_manifests(IMAGES)
    deployments = objects("Deployment", manifests)
    for name, service in objects("Service", manifests).items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["selector"].items() <= labels.items()
        assert deployments[name]["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_a_name_that_is_no_dns_label_is_refused():
    with pytest.raises(ValueError, match="'Web_1' is not a DNS label"):
        workload_manifests({"Web_1": "repo/web:1"})


# --- the buildspec, statically -----------------------------------------------------------------------------------


def buildspec_commands() -> list[str]:
    spec = yaml.safe_load(BUILDSPEC.read_text())
    return [c for phase in spec["phases"].values() for c in phase["commands"]]


def test_the_buildspec_fetches_only_arm64_binaries_and_never_anything_x86():
    text = BUILDSPEC.read_text()
    assert not re.search(r"amd64|x86|x64|i386", text, re.IGNORECASE)
    fetched = [c for c in buildspec_commands() if "curl " in c]
    # The release name (text) and the arm64 kubectl with its published checksum; nothing else is downloaded.
    assert len(fetched) == 3
    assert "https://dl.k8s.io/release/stable-${KUBERNETES_VERSION}.txt" in fetched[0]
    assert 'KUBECTL_URL="https://dl.k8s.io/release/${KUBECTL_RELEASE}/bin/linux/arm64/kubectl"' in buildspec_commands()
    assert [c.split()[-1] for c in fetched[1:]] == ['"$KUBECTL_URL"', '"$KUBECTL_URL.sha256"']
    assert "sha256sum --check --strict" in text
    assert "wget" not in text and "pip install" not in text


# --- the buildspec, run against fakes ----------------------------------------------------------------------------

RELEASE = "v1.34.3"
KUBECTL_URL = f"https://dl.k8s.io/release/{RELEASE}/bin/linux/arm64/kubectl"
CLUSTER = "DevStack-Eks-1A2B3C4D"

# One program plays uname, curl, file, aws and the downloaded kubectl (by the name it is called as).
FAKE = r"""
import json, os, sys

# os.path, not pathlib (nor shutil until it is needed): each call is a new process, and importing them costs a
# fifth of its start-up.
home = os.environ["FAKES_HOME"]
with open(os.path.join(home, "fakes.json")) as config:
    cfg = json.loads(config.read())
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.path.join(home, "calls.jsonl"), "a") as log:
    log.write(json.dumps({"cmd": name, "args": args}) + "\n")

if name == "uname":
    print(cfg["machine"] if args == ["-m"] else "Linux")
elif name == "curl":
    url, out = args[-1], args[args.index("-o") + 1] if "-o" in args else None
    body = cfg["downloads"].get(url)
    if body is None:
        print("curl: (22) The requested URL returned error: 404", file=sys.stderr)
        sys.exit(22)
    if out:
        with open(out, "w") as downloaded:
            downloaded.write(body)
    else:
        sys.stdout.write(body)
elif name == "file":
    print(cfg["file_says"])
elif name == "aws" and args[:2] == ["eks", "update-kubeconfig"]:
    print(f"Added new context arn:aws:eks:eu-west-1:123456789012:cluster/{args[-1]}")
elif name == "fake-kubectl" and args[:2] == ["version", "--client"]:
    print(f"Client Version: {cfg['release']}")
elif name == "fake-kubectl" and args[:1] == ["apply"]:
    import shutil

    shutil.copy(args[args.index("-f") + 1], os.path.join(home, "applied.json"))
    print("deployment.apps/api configured")
elif name == "fake-kubectl" and args[:2] == ["rollout", "status"]:
    if not cfg["rollout_ok"]:
        print(f"error: timed out waiting for the condition on {args[2]}", file=sys.stderr)
        sys.exit(1)
    print(f'{args[2]} successfully rolled out')
else:
    print(f"fake {name}: unexpected call {args}", file=sys.stderr)
    sys.exit(2)
"""


@dataclass
class Fakes:
    """What the fake host and the internet answer; tests change fields before `run_apply`."""

    home: Path
    machine: str = "aarch64"
    release: str = RELEASE
    file_says: str = "ELF 64-bit LSB executable, ARM aarch64, version 1 (SYSV), statically linked, stripped"
    published_sha256: str | None = None  # default: the downloaded kubectl's real digest
    rollout_ok: bool = True
    extra_downloads: dict[str, str] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.home / "bin"

    def kubectl(self) -> str:
        """What dl.k8s.io serves as kubectl: here, a script that hands over to the fake."""
        return f'#!{shutil.which("bash")}\nexec {self.bin / "fake-kubectl"} "$@"\n'

    def write(self) -> None:
        kubectl = self.kubectl()
        digest = self.published_sha256 or hashlib.sha256(kubectl.encode()).hexdigest()
        downloads = {
            f"https://dl.k8s.io/release/stable-{VERSION}.txt": self.release,
            f"https://dl.k8s.io/release/{self.release}/bin/linux/arm64/kubectl": kubectl,
            f"https://dl.k8s.io/release/{self.release}/bin/linux/arm64/kubectl.sha256": digest,
            **self.extra_downloads,
        }
        config = {
            "machine": self.machine,
            "release": self.release,
            "file_says": self.file_says,
            "downloads": downloads,
            "rollout_ok": self.rollout_ok,
        }
        (self.home / "fakes.json").write_text(json.dumps(config))


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    fakes = Fakes(home=tmp_path)
    fakes.bin.mkdir()
    program = fakes.bin / "fake.py"
    # -I -S: only the standard library, so Python starts without reading site-packages (each call is a new process).
    program.write_text(f"#!{sys.executable} -IS\n{FAKE}")
    program.chmod(0o755)
    for name in ("uname", "curl", "file", "aws", "fake-kubectl"):
        (fakes.bin / name).symlink_to(program)
    return fakes


@dataclass
class ApplyResult:
    failed_phase: str | None
    output: str
    calls: list[dict[str, Any]]
    applied: dict[str, Any] | None

    def calls_to(self, command: str) -> list[list[str]]:
        return [c["args"] for c in self.calls if c["cmd"] == command]


def run_apply(fakes: Fakes, manifests: dict[str, Any]) -> ApplyResult:
    """Run the phases in order in one bash, as CodeBuild 0.2 does: a failing command ends its phase and the build."""
    fakes.write()
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    phase_file = fakes.home / "phase"
    lines = []
    for phase, body in spec["phases"].items():
        lines.append(f"echo {phase} > {phase_file}")
        for command in body["commands"]:
            lines += [command, '__rc=$?; [ "$__rc" -eq 0 ] || exit "$__rc"']
    lines.append(f"echo done > {phase_file}")
    workdir = fakes.home / "src"
    workdir.mkdir()
    # No real kubectl, aws or curl may answer: PATH holds the fakes and the basic tools only.
    tools = fakes.home / "tools"
    tools.mkdir()
    for tool in ("bash", "sha256sum", "tr", "grep", "mkdir", "chmod", "cat", "printf"):
        real = shutil.which(tool)
        assert real, tool
        (tools / tool).symlink_to(real)
    env = {
        "PATH": f"{fakes.bin}{os.pathsep}{tools}",
        "HOME": str(fakes.home / "root"),
        "FAKES_HOME": str(fakes.home),
        "CODEBUILD_SRC_DIR": str(workdir),
        "CLUSTER_NAME": CLUSTER,
        "KUBERNETES_VERSION": VERSION,
        "NAMESPACE": NAMESPACE,
        "MANIFESTS": json.dumps(manifests),
        "DEPLOYMENTS": " ".join(o["metadata"]["name"] for o in manifests["items"] if o["kind"] == "Deployment"),
    }
    done = subprocess.run(
        [shutil.which("bash"), "-c", "\n".join(lines)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    phase = phase_file.read_text().strip()
    assert (done.returncode == 0) == (phase == "done"), done.stdout
    calls_log = fakes.home / "calls.jsonl"
    calls = [json.loads(line) for line in calls_log.read_text().splitlines()] if calls_log.exists() else []
    applied = fakes.home / "applied.json"
    return ApplyResult(
        None if phase == "done" else phase,
        done.stdout,
        calls,
        json.loads(applied.read_text()) if applied.exists() else None,
    )


MANIFESTS = workload_manifests({"api": "repo/api:abc", "web": "repo/web:def"})


def test_apply_fetches_the_clusters_arm64_kubectl_verifies_it_and_applies_the_manifests(fakes):
    result = run_apply(fakes, MANIFESTS)
    assert result.failed_phase is None, result.output
    assert [args[-1] for args in result.calls_to("curl")] == [
        f"https://dl.k8s.io/release/stable-{VERSION}.txt",
        KUBECTL_URL,
        f"{KUBECTL_URL}.sha256",
    ]
    assert result.calls_to("aws") == [["eks", "update-kubeconfig", "--name", CLUSTER]]
    assert result.applied == MANIFESTS
    assert ["apply", "--namespace", NAMESPACE, "-f", "manifests.json"] in result.calls_to("fake-kubectl")
    rollouts = [args[2] for args in result.calls_to("fake-kubectl") if args[:2] == ["rollout", "status"]]
    assert rollouts == ["deployment/api", "deployment/web"]


def test_a_kubectl_that_does_not_match_its_published_checksum_never_runs(fakes):
    fakes.published_sha256 = hashlib.sha256(b"something else").hexdigest()
    result = run_apply(fakes, MANIFESTS)
    assert result.failed_phase == "install"
    assert "does not match its published sha256" in result.output
    assert result.calls_to("fake-kubectl") == [] and result.calls_to("aws") == []


def test_a_kubectl_that_is_not_arm64_never_runs(fakes):
    fakes.file_says = "ELF 64-bit LSB executable, x86-64, version 1 (SYSV), statically linked"
    result = run_apply(fakes, MANIFESTS)
    assert result.failed_phase == "install"
    assert "is not an arm64 binary" in result.output
    assert result.calls_to("fake-kubectl") == []


def test_an_x86_host_refuses_before_downloading_anything(fakes):
    fakes.machine = "x86_64"
    result = run_apply(fakes, MANIFESTS)
    assert result.failed_phase == "install"
    assert "host is x86_64, not aarch64" in result.output
    assert result.calls_to("curl") == []


def test_a_release_of_another_minor_is_refused(fakes):
    fakes.release = "v1.35.0"
    result = run_apply(fakes, MANIFESTS)
    assert result.failed_phase == "install"
    assert "names 'v1.35.0' as the latest kubectl 1.34" in result.output
    assert len(result.calls_to("curl")) == 1


def test_a_rollout_that_never_gets_ready_fails_the_build(fakes):
    fakes.rollout_ok = False
    result = run_apply(fakes, MANIFESTS)
    assert result.failed_phase == "build"
    assert result.applied == MANIFESTS
