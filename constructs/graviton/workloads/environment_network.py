"""EnvironmentNetwork: the VPC one environment's containers run in, with no NAT unless asked for."""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton import checkov
from graviton.arm64 import DEFAULT_LOG_RETENTION
from graviton.stack_paths import stack_path

# The tag the EC2 console shows as a VPC's, subnet's or flow log's name.
NAME_TAG = "Name"
# The stack-wide provider CDK adds for a VPC's restrictDefaultSecurityGroup (a CfnResource function, no L2).
_RESTRICT_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


class EnvironmentNetwork(Construct):
    """Two AZs. Without NAT gateways (the default) tasks and nodes run in public subnets with public IPs, and
    their security groups admit only the load balancer; with NAT gateways they run in private subnets.

    A NAT gateway costs about $32 a month each plus $0.045 per GB before any traffic is served; a public IP
    costs about $3.60 a month per task. For dev and test, and for small prod services, public subnets win.

    :param nat_gateways: 0 (default) for public subnets only; 1 or 2 for private subnets behind that many NATs.
    :param flow_log_retention: how long VPC flow logs are kept (default: one month).
    :param name: the VPC's Name tag; its subnets and flow log are named under it, `<name>/publicSubnet1` and
        `<name>/FlowLog` (default: the VPC's stack and path, such as ``DevStack/Network/Vpc``, the same in a
        pipeline's stage).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        nat_gateways: int = 0,
        flow_log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if not 0 <= nat_gateways <= 2:
            raise ValueError(
                f"EnvironmentNetwork: nat_gateways must be 0 to 2 (one per AZ at most), not {nat_gateways}"
            )
        subnets = [ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24)]
        if nat_gateways:
            subnets.append(
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22)
            )
        name = name or f"{stack_path(self)}/Vpc"
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            vpc_name=name,
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
        )
        # CDK tags each subnet (and its route table) with its full path: name them under the VPC's name instead.
        for subnet in [*self.vpc.public_subnets, *self.vpc.private_subnets]:
            Tags.of(subnet).add(NAME_TAG, f"{name}/{subnet.node.id}")
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=flow_log_retention, removal_policy=RemovalPolicy.DESTROY)
        # What `vpc.add_flow_log` builds, at the same place; only FlowLog itself takes a name.
        ec2.FlowLog(
            self.vpc,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            flow_log_name=f"{name}/FlowLog",
        )
        _skip_restrict_default_sg_provider_checks(self)
        # Workloads: private subnets when there is a NAT to reach ECR through, else public ones with public IPs.
        self.public_ip = nat_gateways == 0
        self.workload_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PUBLIC if self.public_ip else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )


def _skip_restrict_default_sg_provider_checks(scope: Construct) -> None:
    """checkov's Lambda checks on the function CDK adds to strip the VPC's default security group of its rules."""
    provider = Stack.of(scope).node.try_find_child(_RESTRICT_DEFAULT_SG_PROVIDER)
    handler = provider.node.try_find_child("Handler") if provider else None
    if not isinstance(handler, CfnResource) or checkov.skips(handler):
        return  # no such provider (the feature flag is off), or another VPC of the stack skipped them already
    for check_id, reason in (
        ("CKV_AWS_115", "CDK's VPC default-security-group function: CloudFormation calls it once per VPC change"),
        (
            "CKV_AWS_116",
            "CDK's VPC default-security-group function answers CloudFormation itself, which fails the deploy on an"
            " error; no event waits in a queue",
        ),
        ("CKV_AWS_117", "CDK's VPC default-security-group function calls only the EC2 API, from outside the VPC"),
    ):
        checkov.skip(handler, check_id, reason)
