"""ArmFargateService: an always-on container on ECS Fargate ARM64 behind a shared, HTTPS-only load balancer."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnResource, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
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
from graviton.workloads.shared_load_balancer import SharedLoadBalancer

CPU_TARGET_PERCENT = 60
DEFAULT_SCALING_POLICY_NAME = "cpu-target-tracking"  # unique per service, which has only this one
# The rule CDK writes into the tasks' security group to admit the load balancer's.
_SECURITY_GROUP_RULES = ("AWS::EC2::SecurityGroupIngress",)
# Fargate on Graviton: the one line App Runner has no equivalent for.
ARM64_LINUX = ecs.RuntimePlatform(
    cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX
)


class ArmFargateService(Construct):
    """A Fargate ARM64 service of an ArmImageBuild's image, always on, behind a SharedLoadBalancer.

    There is no architecture parameter: the task is ARM64 and nothing else. The service listens on ``port`` and
    answers ``GET <health_path>``; deployments roll back on failure (circuit breaker); CPU drives the task count.
    It runs on a cluster it shares with others, and answers on the shared load balancer at ``path`` (the prefix
    stripped before the container sees the request) or at the host ``<host>.<domain_name>``; its tasks, security
    group, roles, logs and scaling are its own.

    :param image: the ArmImageBuild, PromotedImage or ExistingImage whose image the service runs.
    :param cluster: the ECS cluster it runs on (its VPC is the tasks').
    :param load_balancer: the SharedLoadBalancer that routes its requests to it.
    :param rule_priority: its listener rule's priority, unique on ``load_balancer`` (1 to 50,000).
    :param path: the path prefix it answers under, such as ``/web`` (default: none; give ``path`` or ``host``).
    :param host: the host name label it answers at, ``<host>.<domain_name>``; only on a load balancer with a domain
        (default: none; give ``path`` or ``host``).
    :param task_subnets: where tasks run (default: the VPC's private subnets).
    :param assign_public_ip: give tasks public IPs, for public subnets without NAT (default: False).
    :param cpu: vCPU units per task (default: 256).
    :param memory_mb: memory per task in MiB (default: 512).
    :param min_tasks: fewest running tasks (default: 1).
    :param max_tasks: most running tasks (default: 2).
    :param port: the port the container listens on, 1024 to 65535 (default: 8080).
    :param health_path: the path that answers 200 when the container is healthy; the load balancer checks it on
        each task directly, unprefixed (default: ``/health``).
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
        cluster: ecs.ICluster,
        load_balancer: SharedLoadBalancer,
        rule_priority: int,
        path: str | None = None,
        host: str | None = None,
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
        self.security_group = ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=cluster.vpc,
            allow_all_outbound=True,
            description=task_security_group_description
            or f"{stack_path(self)}: Fargate tasks, admitting only their load balancer",
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            vpc_subnets=task_subnets,
            assign_public_ip=assign_public_ip,
            security_groups=[self.security_group],
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            health_check_grace_period=Duration.seconds(30),
        )
        self.service.node.add_dependency(image.image)
        try:
            self.target_group = load_balancer.add_service(
                self,
                service=self.service,
                port=settings.port,
                health_path=settings.health_path,
                priority=rule_priority,
                path=path,
                host=host,
            )
        except ValueError as err:
            raise ValueError(f"ArmFargateService: {err}") from None
        scaling = self.service.auto_scale_task_count(min_capacity=min_tasks, max_capacity=max_tasks)
        scaling.scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=CPU_TARGET_PERCENT, policy_name=scaling_policy_name
        )
        self._name_load_balancer_rule(load_balancer)
        self.url = load_balancer.service_url(path=path, host=host)
        self._acknowledge_findings()

    def _name_load_balancer_rule(self, load_balancer: SharedLoadBalancer) -> None:
        """CDK names the rule admitting the load balancer after its group's full path, which differs inside a
        pipeline's stage: give it an id from within the stack."""
        group_resource = cast(ec2.CfnSecurityGroup, self.security_group.node.default_child)
        peer_id = Names.node_unique_id(load_balancer.security_group.node)
        for rule in self.security_group.node.children:
            if isinstance(rule, CfnResource) and rule.cfn_resource_type in _SECURITY_GROUP_RULES:
                # `from <peer's full-path id>:8080` -> `<group's logical id>fromLoadBalancer8080`
                rule_id = "".join(c for c in rule.node.id.replace(peer_id, "LoadBalancer") if c.isalnum())
                rule.override_logical_id(Stack.of(self).get_logical_id(group_resource) + rule_id)

    def _acknowledge_findings(self) -> None:
        """What cdk-nag asks of a service that this one answers differently, each with its reason."""
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
