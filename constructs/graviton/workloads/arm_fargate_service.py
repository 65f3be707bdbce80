"""ArmFargateService: an always-on container on ECS Fargate ARM64 behind an Application Load Balancer."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnResource, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton.arm64 import DEFAULT_LOG_RETENTION
from graviton.constants import (
    CONTAINER_PORT,
    CONTAINER_USER,
    DEFAULT_FARGATE_CPU,
    DEFAULT_FARGATE_MEMORY_MB,
    DEFAULT_MAX_TASKS,
    DEFAULT_MIN_TASKS,
    HEALTH_PATH,
)
from graviton.image_build.container_image import ContainerImage
from graviton.nag import acknowledge
from graviton.stack_paths import stack_path, stack_path_name
from graviton.workloads.container_settings import PYTHON_HEALTH_CHECK, ContainerSettings, HealthCheck

CPU_TARGET_PERCENT = 60
DEFAULT_SCALING_POLICY_NAME = "cpu-target-tracking"  # unique per service, which has only this one
# The rules CDK writes between the load balancer's and the tasks' security groups.
_SECURITY_GROUP_RULES = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")
# Fargate on Graviton: the one line App Runner has no equivalent for.
ARM64_LINUX = ecs.RuntimePlatform(
    cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
)


class ArmFargateService(Construct):
    """A Fargate ARM64 service of an ArmImageBuild's image, always on, behind a public ALB.

    There is no architecture parameter: the task is ARM64 and nothing else. The service listens on ``port`` and
    answers ``GET <health_path>``; deployments roll back on failure (circuit breaker); CPU drives the task count.

    :param image: the ArmImageBuild, PromotedImage or ExistingImage whose image the service runs.
    :param vpc: the VPC to run in.
    :param task_subnets: where tasks run (default: the VPC's private subnets).
    :param assign_public_ip: give tasks public IPs, for public subnets without NAT (default: False).
    :param cpu: vCPU units per task (default: 256).
    :param memory_mb: memory per task in MiB (default: 512).
    :param min_tasks: fewest running tasks (default: 1).
    :param max_tasks: most running tasks (default: 2).
    :param port: the port the container listens on, 1024 to 65535 (default: 8080).
    :param health_path: the path that answers 200 when the container is healthy; the load balancer checks it
        (default: ``/health``).
    :param health_check: the container's own check: ``"python"`` (the image's Python requests
        ``http://127.0.0.1:<port><health_path>``; slim images have no curl), a command (``["CMD", ...]`` or
        ``["CMD-SHELL", "..."]``), or None for images without Python or a shell (default: ``"python"``).
    :param user: the numeric ``uid:gid`` the container runs as, never root (default: ``10001:10001``, the sample
        images' ``USER``).
    :param read_only_root: a read-only root file system, with a writable ``/tmp`` (default: True).
    :param environment: environment variables for the container (default: none).
    :param log_retention: how long container logs are kept (default: one month).
    :param family: the task definition's family (default: the stack's name and this construct's path in it,
        such as ``DevStack-WebService``).
    :param task_security_group_description: the tasks' security group's description (default: names the
        service by its stack and path and says the group admits only the load balancer).
    :param load_balancer_security_group_description: the load balancer's security group's description (default:
        names the service by its stack and path and says the group admits HTTP from anywhere).
    :param scaling_policy_name: the name of the CPU target-tracking policy (default: ``cpu-target-tracking``).

    Every name and description above is set, never left to CDK's path-derived defaults, so the service reads the
    same whether its stack is deployed at the app's top level or inside a pipeline's stage. Changing a description
    or the family replaces that security group or task definition (and rolls the service) on the next deploy.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: ContainerImage,
        vpc: ec2.IVpc,
        task_subnets: ec2.SubnetSelection | None = None,
        assign_public_ip: bool = False,
        cpu: int = DEFAULT_FARGATE_CPU,
        memory_mb: int = DEFAULT_FARGATE_MEMORY_MB,
        min_tasks: int = DEFAULT_MIN_TASKS,
        max_tasks: int = DEFAULT_MAX_TASKS,
        port: int = CONTAINER_PORT,
        health_path: str = HEALTH_PATH,
        health_check: HealthCheck = PYTHON_HEALTH_CHECK,
        user: str = CONTAINER_USER,
        read_only_root: bool = True,
        environment: dict[str, str] | None = None,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        family: str | None = None,
        task_security_group_description: str | None = None,
        load_balancer_security_group_description: str | None = None,
        scaling_policy_name: str = DEFAULT_SCALING_POLICY_NAME,
    ) -> None:
        super().__init__(scope, id)
        if not 1 <= min_tasks <= max_tasks:
            raise ValueError(f"ArmFargateService: need 1 <= min_tasks <= max_tasks, not {min_tasks} and {max_tasks}")
        try:
            settings = ContainerSettings(
                port=port, health_path=health_path, health_check=health_check, user=user, read_only_root=read_only_root
            )
        except ValueError as err:
            raise ValueError(f"ArmFargateService: {err}") from None
        command = settings.health_check_command
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=cpu,
            memory_limit_mib=memory_mb,
            runtime_platform=ARM64_LINUX,
            family=family or stack_path_name(self),
        )
        self.container = self.task_definition.add_container(
            "Container",
            image=ecs.ContainerImage.from_ecr_repository(image.repository, tag=image.image_tag),
            port_mappings=[ecs.PortMapping(container_port=settings.port)],
            user=settings.user,
            readonly_root_filesystem=settings.read_only_root,
            environment=environment or {},
            logging=ecs.LogDriver.aws_logs(stream_prefix="service", log_group=self.log_group),
            health_check=ecs.HealthCheck(command=command, start_period=Duration.seconds(15)) if command else None,
        )
        # One writable scratch folder, the only one when the root file system is read-only.
        self.task_definition.add_volume(name="tmp")
        self.container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            task_subnets=task_subnets,
            assign_public_ip=assign_public_ip,
            public_load_balancer=True,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            health_check_grace_period=Duration.seconds(30),
        )
        self.service.target_group.configure_health_check(path=settings.health_path, healthy_http_codes="200")
        # Draining for 30 s, not 5 minutes: deployments and rollbacks finish sooner.
        self.service.target_group.set_attribute("deregistration_delay.timeout_seconds", "30")
        self.service.service.node.add_dependency(image.image)
        scaling = self.service.service.auto_scale_task_count(min_capacity=min_tasks, max_capacity=max_tasks)
        scaling.scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=CPU_TARGET_PERCENT, policy_name=scaling_policy_name
        )
        self._describe_security_groups(
            tasks=task_security_group_description
            or f"{stack_path(self)}: Fargate tasks, admitting only their load balancer",
            load_balancer=load_balancer_security_group_description
            or f"{stack_path(self)}: public load balancer, admitting HTTP from anywhere",
        )
        self.url = f"http://{self.service.load_balancer.load_balancer_dns_name}"
        self._acknowledge_findings()

    def _describe_security_groups(self, *, tasks: str, load_balancer: str) -> None:
        """The pattern creates both groups with path-derived descriptions, and names the rules between them after the
        other group's full path: describe the groups, and give the rules ids from within the stack."""
        task_group = self.service.service.connections.security_groups[0]
        load_balancer_group = self.service.load_balancer.connections.security_groups[0]
        for group, description, peer, peer_label in (
            (task_group, tasks, load_balancer_group, "LoadBalancer"),
            (load_balancer_group, load_balancer, task_group, "Tasks"),
        ):
            group_resource = cast(ec2.CfnSecurityGroup, group.node.default_child)
            group_resource.group_description = description
            peer_id = Names.node_unique_id(peer.node)
            for rule in group.node.children:
                if isinstance(rule, CfnResource) and rule.cfn_resource_type in _SECURITY_GROUP_RULES:
                    # `from <peer's full-path id>:8080` -> `<group's logical id>fromLoadBalancer8080`
                    rule_id = "".join(c for c in rule.node.id.replace(peer_id, peer_label) if c.isalnum())
                    rule.override_logical_id(Stack.of(self).get_logical_id(group_resource) + rule_id)

    def _acknowledge_findings(self) -> None:
        """What cdk-nag asks of a public HTTP service that this one answers differently, each with its reason."""
        load_balancer = self.service.load_balancer
        acknowledge(
            load_balancer, "ELB2", "access logs need a regional log bucket; the ALB's metrics and VPC flow logs stay on"
        )
        acknowledge(
            load_balancer.connections.security_groups[0],
            "EC23",
            "the public load balancer admits HTTP from anywhere; the tasks admit only the load balancer",
        )
        acknowledge(
            self.task_definition.obtain_execution_role().node.find_child("DefaultPolicy"),
            "IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull the image, has no resource-level form",
        )
        acknowledge(
            self.task_definition,
            "ECS2",
            "plain, non-secret settings only (service name, environment); secrets would come from Secrets Manager",
        )
