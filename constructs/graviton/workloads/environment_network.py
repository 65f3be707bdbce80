"""EnvironmentNetwork: the VPC one environment's containers run in, with no NAT unless asked for."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton.arm64 import DEFAULT_LOG_RETENTION


class EnvironmentNetwork(Construct):
    """Two AZs. Without NAT gateways (the default) tasks and nodes run in public subnets with public IPs, and
    their security groups admit only the load balancer; with NAT gateways they run in private subnets.

    A NAT gateway costs about $32 a month each plus $0.045 per GB before any traffic is served; a public IP
    costs about $3.60 a month per task. For dev and test, and for small prod services, public subnets win.

    :param nat_gateways: 0 (default) for public subnets only; 1 or 2 for private subnets behind that many NATs.
    :param flow_log_retention: how long VPC flow logs are kept (default: one month).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        nat_gateways: int = 0,
        flow_log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
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
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
        )
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=flow_log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        # Workloads: private subnets when there is a NAT to reach ECR through, else public ones with public IPs.
        self.public_ip = nat_gateways == 0
        self.workload_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PUBLIC if self.public_ip else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
