"""ArmEksCluster: an EKS cluster whose nodes, tooling and workload rollouts are all arm64 (Graviton)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml
from aws_cdk import Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton.arm64 import BUILD_COMPUTE, BUILD_IMAGE, DEFAULT_LOG_RETENTION
from graviton.constants import EKS_AMI_TYPE
from graviton.eks.manifests import NAMESPACE, is_workload_name, workload_manifests
from graviton.guardrails.instance_types import is_graviton
from graviton.image_build.container_image import ContainerImage, image_reference
from graviton.keys import stack_owned_key
from graviton.nag import acknowledge, arn, logical_id
from graviton.workloads.container_settings import ContainerSettings

BUILDSPEC = Path(__file__).with_name("buildspec.yml")
CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# Deployments, Services and their rollouts in one namespace; no RBAC, no cluster-scoped objects.
APPLY_POLICY = "AmazonEKSEditPolicy"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")
_VERSION = re.compile(r"^1\.\d{1,2}$")
# The apply build starts after a successful create or update of its own stack, never after a rollback.
_DEPLOYED = ("CREATE_COMPLETE", "UPDATE_COMPLETE")


class ArmEksCluster(Construct):
    """An EKS cluster with nothing x86 in it, built from L1 resources: no kubectl Lambda, no custom resource.

    Graviton managed nodes (``AL2023_ARM_64_STANDARD``), access entries instead of the aws-auth ConfigMap, all
    control-plane logs, secrets encrypted with a KMS key of its own. Workloads are applied by an ARM_CONTAINER
    CodeBuild project that EventBridge starts after each successful deploy of the stack: it fetches the arm64
    kubectl of the cluster's version, checks its published sha256, and applies one Deployment and one Service per
    workload (generated at synth by `workload_manifests`, so the applied tags are always the deployed ones).

    :param vpc: the VPC the cluster and its nodes run in.
    :param subnets: where the control plane's network interfaces and the nodes go; at least two availability zones
        (with no NAT, public subnets: nodes need a route to ECR and to the cluster's endpoint).
    :param version: the Kubernetes minor version, such as ``1.34``.
    :param instance_types: the nodes' Graviton instance types; anything else is refused.
    :param min_nodes: the fewest nodes, also the desired count (there is no autoscaler).
    :param max_nodes: the most nodes.
    :param admin_role_arns: IAM roles given AmazonEKSClusterAdminPolicy on the whole cluster (default: none; then
        nobody but the apply build can reach the Kubernetes API).
    :param workloads: service name -> its image (ArmImageBuild, PromotedImage or ExistingImage); each runs as a
        Deployment and a Service in ``default``
        (default: none, and no apply project).
    :param workload_settings: service name -> its port, health path, user and root file system
        (``ContainerSettings``; default: ``ContainerSettings()`` for each: 8080, ``/health``, ``10001:10001``,
        read-only root).
    :param log_retention: how long control-plane and apply-build logs are kept (default: one month).
    :param encryption_key: the KMS key for the apply build's artifacts (default: a new key with rotation, deleted
        with the stack).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        version: str,
        instance_types: Sequence[str],
        min_nodes: int,
        max_nodes: int,
        admin_role_arns: Sequence[str] = (),
        workloads: Mapping[str, ContainerImage] | None = None,
        workload_settings: Mapping[str, ContainerSettings] | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, id)
        workloads = dict(workloads or {})
        admin_role_arns = list(admin_role_arns)
        _refuse_bad_props(version, instance_types, min_nodes, max_nodes, admin_role_arns, workloads)
        # jsii's select_subnets takes the selection's fields as keywords.
        fields = ("availability_zones", "one_per_az", "subnet_filters", "subnet_group_name", "subnets", "subnet_type")
        selection = vpc.select_subnets(**{f: getattr(subnets, f) for f in fields if getattr(subnets, f) is not None})
        zones = len(set(selection.availability_zones))
        if zones < 2:
            raise ValueError(
                f"ArmEksCluster: EKS needs subnets in at least two availability zones; the selection has {zones}"
            )
        self.version = version
        self.cluster_name = Names.unique_resource_name(self, max_length=100, separator="-")
        # EKS would create this group itself, with no expiry: create it first, with the retention asked for.
        self.control_plane_logs = logs.LogGroup(
            self,
            "ControlPlaneLogs",
            log_group_name=f"/aws/eks/{self.cluster_name}/cluster",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # The secrets it encrypts live in the cluster, which is deleted with the stack.
        self.secrets_key = stack_owned_key(self, "SecretsKey", description=f"EKS {self.cluster_name} secrets envelope")
        cluster_role = iam.Role(
            self,
            "ClusterRole",
            assumed_by=iam.ServicePrincipal("eks.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonEKSClusterPolicy")],
        )
        self.cluster = eks.CfnCluster(
            self,
            "Cluster",
            name=self.cluster_name,
            version=version,
            role_arn=cluster_role.role_arn,
            resources_vpc_config=eks.CfnCluster.ResourcesVpcConfigProperty(
                subnet_ids=selection.subnet_ids, endpoint_public_access=True, endpoint_private_access=True
            ),
            # Standard support only: a cluster left behind on its version stops, it does not start costing 6x.
            upgrade_policy=eks.CfnCluster.UpgradePolicyProperty(support_type="STANDARD"),
            access_config=eks.CfnCluster.AccessConfigProperty(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            logging=eks.CfnCluster.LoggingProperty(
                cluster_logging=eks.CfnCluster.ClusterLoggingProperty(
                    enabled_types=[eks.CfnCluster.LoggingTypeConfigProperty(type=t) for t in CONTROL_PLANE_LOGS]
                )
            ),
            encryption_config=[
                eks.CfnCluster.EncryptionConfigProperty(
                    provider=eks.CfnCluster.ProviderProperty(key_arn=self.secrets_key.key_arn), resources=["secrets"]
                )
            ],
        )
        self.cluster.node.add_dependency(self.control_plane_logs)
        self.nodegroup = self._nodegroup(selection.subnet_ids, instance_types, min_nodes, max_nodes)
        for principal in admin_role_arns:
            self._access_entry(f"Admin{_stable_suffix(principal)}", principal, CLUSTER_ADMIN_POLICY, namespaces=None)
        self.apply_project: codebuild.Project | None = None
        if workloads:
            self.apply_project = self._apply_project(workloads, workload_settings or {}, log_retention, encryption_key)
        acknowledge(
            cluster_role,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonEKSClusterPolicy]",
            "the EKS service role policy AWS maintains for the control plane; no narrower policy exists",
        )
        acknowledge(
            self.cluster,
            "EKS1",
            "the apply build runs outside the VPC (no NAT) and reaches the API over the public endpoint; every"
            " request is authenticated by IAM and authorized by access entries only",
        )

    @property
    def cluster_arn(self) -> str:
        return self.cluster.attr_arn

    def _nodegroup(
        self, subnet_ids: list[str], instance_types: Sequence[str], min_nodes: int, max_nodes: int
    ) -> eks.CfnNodegroup:
        role = iam.Role(
            self,
            "NodeRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in NODE_POLICIES],
        )
        reasons = {
            "AmazonEKSWorkerNodePolicy": "what the kubelet needs to join the cluster; AWS keeps it current",
            "AmazonEC2ContainerRegistryPullOnly": "ECR pulls only (no list or describe): the kubelet pulls the images",
            "AmazonEKS_CNI_Policy": "the VPC CNI on each node assigns pod IPs; kept on the node role for simplicity",
        }
        for name, reason in reasons.items():
            acknowledge(role, f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]", reason)
        return eks.CfnNodegroup(
            self,
            "Nodes",
            cluster_name=self.cluster.ref,
            node_role=role.role_arn,
            subnets=subnet_ids,
            ami_type=EKS_AMI_TYPE,
            instance_types=list(instance_types),
            capacity_type="ON_DEMAND",
            scaling_config=eks.CfnNodegroup.ScalingConfigProperty(
                min_size=min_nodes, max_size=max_nodes, desired_size=min_nodes
            ),
            update_config=eks.CfnNodegroup.UpdateConfigProperty(max_unavailable=1),
        )

    def _access_entry(
        self, id: str, principal_arn: str, policy: str, *, namespaces: list[str] | None
    ) -> eks.CfnAccessEntry:
        scope = eks.CfnAccessEntry.AccessScopeProperty(
            type="namespace" if namespaces else "cluster", namespaces=namespaces
        )
        partition = Stack.of(self).partition
        return eks.CfnAccessEntry(
            self,
            id,
            cluster_name=self.cluster.ref,
            principal_arn=principal_arn,
            type="STANDARD",
            access_policies=[
                eks.CfnAccessEntry.AccessPolicyProperty(
                    policy_arn=f"arn:{partition}:eks::aws:cluster-access-policy/{policy}", access_scope=scope
                )
            ],
        )

    def _apply_project(
        self,
        workloads: Mapping[str, ContainerImage],
        settings: Mapping[str, ContainerSettings],
        log_retention: logs.RetentionDays,
        key: kms.IKey | None,
    ) -> codebuild.Project:
        stack = Stack.of(self)
        images = {name: image_reference(build) for name, build in workloads.items()}
        log_group = logs.LogGroup(self, "ApplyLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        variables = {
            "CLUSTER_NAME": self.cluster.ref,
            "KUBERNETES_VERSION": self.version,
            "NAMESPACE": NAMESPACE,
            "MANIFESTS": stack.to_json_string(workload_manifests(images, settings=settings)),
            "DEPLOYMENTS": " ".join(sorted(workloads)),
        }
        project = codebuild.Project(
            self,
            "Apply",
            description=f"Applies the arm64 workloads to EKS cluster {self.cluster_name} from Graviton",
            environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=BUILD_COMPUTE),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value) for name, value in variables.items()
            },
            build_spec=codebuild.BuildSpec.from_object(yaml.safe_load(BUILDSPEC.read_text())),
            encryption_key=key or stack_owned_key(self, "ApplyKey"),
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group)),
            timeout=Duration.minutes(30),
        )
        project.add_to_role_policy(
            iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[self.cluster.attr_arn])
        )
        self._access_entry("ApplyAccess", project.role.role_arn, APPLY_POLICY, namespaces=[NAMESPACE])
        # The project, and so the tags it applies, changes only once every image it names exists.
        for build in workloads.values():
            project.node.add_dependency(build.image)
        events.Rule(
            self,
            "ApplyOnDeploy",
            description=f"Applies the workloads to {self.cluster_name} after each successful deploy of the stack",
            event_pattern=events.EventPattern(
                source=["aws.cloudformation"],
                detail_type=["CloudFormation Stack Status Change"],
                detail={"stack-id": [stack.stack_id], "status-details": {"status": list(_DEPLOYED)}},
            ),
            targets=[targets.CodeBuildProject(project, retry_attempts=3, max_event_age=Duration.hours(1))],
        )
        self._acknowledge_apply_role_findings(project)
        return project

    def _acknowledge_apply_role_findings(self, project: codebuild.Project) -> None:
        """The wildcards CDK's CodeBuild grants write; each is scoped to this project's own resources."""
        policy = project.role.node.find_child("DefaultPolicy")
        name = logical_id(project.node.default_child)
        reasons = {
            "IAM5[Action::kms:GenerateDataKey*]": "data keys from the apply build's own KMS key only",
            "IAM5[Action::kms:ReEncrypt*]": "re-encryption with the apply build's own KMS key only",
            f"IAM5[Resource::{arn(self, 'logs', f'log-group:/aws/codebuild/<{name}>:*')}]": (
                "log streams of this project's default CodeBuild log group"
            ),
            f"IAM5[Resource::{arn(self, 'codebuild', f'report-group/<{name}>-*')}]": (
                "report groups named after this project only"
            ),
        }
        for finding, reason in reasons.items():
            acknowledge(policy, finding, reason)


def _stable_suffix(principal_arn: str) -> str:
    """The same id for the same role wherever it is listed, so removing one admin never replaces the others."""
    return hashlib.sha256(principal_arn.encode()).hexdigest()[:8].upper()


def _refuse_bad_props(
    version: str,
    instance_types: Sequence[str],
    min_nodes: int,
    max_nodes: int,
    admin_role_arns: list[str],
    workloads: Mapping[str, ContainerImage],
) -> None:
    """Refuse at synth what EKS would refuse at deploy, or what would put anything on x86."""
    if not _VERSION.match(version):
        raise ValueError(f"ArmEksCluster: version must be a Kubernetes minor version such as '1.34', not '{version}'")
    if not instance_types:
        raise ValueError("ArmEksCluster: instance_types is empty; give Graviton types such as t4g.medium")
    for instance_type in instance_types:
        if not is_graviton(instance_type):
            raise ValueError(f"ArmEksCluster: '{instance_type}' is not a Graviton instance type (t4g, m7g, c7g, ...)")
    if min_nodes < 0 or max_nodes < 1:
        raise ValueError(
            f"ArmEksCluster: min_nodes must be 0 or more and max_nodes 1 or more, not {min_nodes}, {max_nodes}"
        )
    if min_nodes > max_nodes:
        raise ValueError(f"ArmEksCluster: min_nodes {min_nodes} is above max_nodes {max_nodes}")
    if workloads and min_nodes == 0:
        raise ValueError("ArmEksCluster: workloads need a node to run on, but min_nodes (the desired count) is 0")
    if any(Token.is_unresolved(principal) for principal in admin_role_arns):
        raise ValueError("ArmEksCluster: admin_role_arns must be known at synth (they name the access entries)")
    repeated = sorted({principal for principal in admin_role_arns if admin_role_arns.count(principal) > 1})
    if repeated:
        raise ValueError(f"ArmEksCluster: admin role '{repeated[0]}' is listed twice")
    for name in workloads:
        if not is_workload_name(name):
            raise ValueError(f"ArmEksCluster: workload name '{name}' is not a DNS label (a-z, 0-9, '-'; 63 at most)")
