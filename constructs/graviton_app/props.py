"""The mapping from this app's settings to the construct library's props, one function per construct.

Every decision the settings imply is made here (retention, who may pull), so the stacks
only wire constructs together. Used by `stacks/` only: it imports aws-cdk-lib.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Duration

from graviton.arm64 import log_retention
from graviton.workloads.container_settings import ContainerSettings
from graviton_app import naming
from graviton_app.config import AppConfig, EnvironmentConfig, ServiceConfig


@dataclass(frozen=True)
class EnvironmentProps:
    """One environment's settings, as the props of the constructs its stack is made of."""

    config: AppConfig
    environment: str
    root: Path

    @property
    def settings(self) -> EnvironmentConfig:
        return self.config.environment(self.environment)

    @property
    def builds(self) -> bool:
        """True when the environment builds its own images; False when it runs another's (promotion)."""
        return self.settings.images_from is None

    @property
    def description(self) -> str:
        return f"{self.config.project} {self.environment}: arm64 (Graviton) container workloads"

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.config.project, "environment": self.environment}

    def alarm_topic(self) -> dict[str, Any]:
        return {"email": self.settings.alarm_email}

    def repository(self, service: ServiceConfig) -> dict[str, Any]:
        """The service's repository here. Environments that run these images keep them: their accounts may pull,
        and the repository outlives the stack."""
        promoted_to = self.config.promoted_to(self.environment)
        accounts = {self.config.environment(e).account for e in promoted_to}
        return {
            "repository_name": naming.repository_name(self.config.project, self.environment, service.name),
            "pull_accounts": sorted(a for a in accounts if a and a != self.settings.account),
            "retain": self.environment == "prod" or bool(promoted_to),
            "adopting": self.settings.adopt_repositories,
        }

    def build_patterns(self) -> dict[str, str]:
        """The names every service's build project and repository here start with (the image-build provider's
        grants)."""
        prefix = naming.name_prefix(self.config.project, self.environment)
        return {"project_prefix": prefix, "repository_prefix": prefix}

    def promoted_lookups(self) -> dict[str, Any]:
        """Where a promoted environment's images are looked up: the building environment's repositories."""
        source_name = self.settings.images_from
        assert source_name is not None, "only a promoted environment has promoted images"
        source = self.config.environment(source_name)
        return {
            "repository_prefix": naming.name_prefix(self.config.project, source_name),
            "account": source.account,
            "region": source.region,
        }

    def image_build(self, service: ServiceConfig) -> dict[str, Any]:
        return {
            "project_name": naming.build_project_name(self.config.project, self.environment, service.name),
            "role_name": naming.role_name(self.config.project, self.environment, f"{service.name}-build"),
            "source_dir": self.root / service.source_dir,
            "dockerfile": service.dockerfile,
            "build_args": service.build_args,
            "timeout": Duration.minutes(self.settings.image_build_timeout_minutes),
        }

    def promoted_image(self, service: ServiceConfig) -> dict[str, Any]:
        """The building environment's image of the service, by the same tag: built once, promoted as is."""
        source_name = self.settings.images_from
        assert source_name is not None, "only a promoted environment has promoted images"
        source = self.config.environment(source_name)
        return {
            "repository_name": naming.repository_name(self.config.project, source_name, service.name),
            "source_dir": self.root / service.source_dir,
            "dockerfile": service.dockerfile,
            "build_args": service.build_args,
            "account": source.account,
            "region": source.region,
        }

    def container_environment(self, service: ServiceConfig) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": service.name,
            "POWERTOOLS_METRICS_NAMESPACE": self.config.project,
            "ENVIRONMENT": self.environment,
        }

    def lambda_timeout(self, service: ServiceConfig) -> Duration:
        """The service's own timeout, else the environment's (the function's, and its duration alarm's)."""
        own = service.lambda_timeout_seconds
        return Duration.seconds(self.settings.lambda_timeout_seconds if own is None else own)

    @property
    def log_retention(self) -> Any:
        return log_retention(self.settings.log_retention_days)

    def function(self, service: ServiceConfig) -> dict[str, Any]:
        return {
            "memory_mb": self.settings.lambda_memory_mb
            if service.lambda_memory_mb is None
            else service.lambda_memory_mb,
            "timeout": self.lambda_timeout(service),
            "reserved_concurrency": self.settings.lambda_reserved_concurrency,
            # The shared HTTP API passes the path as called: the handler strips its prefix.
            "environment": {**self.container_environment(service), "BASE_PATH": service.route_path},
            "log_retention": self.log_retention,
        }

    def container_settings(self, service: ServiceConfig) -> ContainerSettings:
        """How the service's container listens, is checked and runs, on ECS and EKS alike."""
        return ContainerSettings(
            port=service.port,
            health_path=service.health_path,
            health_check=service.health_check,
            user=service.user,
            read_only_root=service.read_only_root,
        )

    def shared_load_balancer(self) -> dict[str, Any]:
        """HTTPS on the environment's domain when it has one (with its records when it names the zone), else behind
        CloudFront."""
        return {
            "domain_name": self.settings.domain_name,
            "certificate_arn": self.settings.certificate_arn,
            "hosted_zone_id": self.settings.hosted_zone_id,
        }

    def fargate_service(self, service: ServiceConfig) -> dict[str, Any]:
        """Its sizes and container settings, and its route on the shared load balancer: its host, else its path."""
        cpu, memory_mb, min_tasks, max_tasks = self.config.ecs_sizes(service, self.environment)
        container = self.container_settings(service)
        host = service.route.host
        return {
            "rule_priority": self.config.rule_priorities()[service.name],
            "path": None if host else service.route_path,
            "host": host,
            "cpu": cpu,
            "memory_mb": memory_mb,
            "min_tasks": min_tasks,
            "max_tasks": max_tasks,
            "port": container.port,
            "health_path": container.health_path,
            "health_check": container.health_check,
            "user": container.user,
            "read_only_root": container.read_only_root,
            "environment": self.container_environment(service),
            "log_retention": self.log_retention,
        }

    def network(self) -> dict[str, Any]:
        return {"nat_gateways": self.settings.nat_gateways, "flow_log_retention": self.log_retention}

    def gatekeeper(self) -> dict[str, Any]:
        """It guards every repository of the environment: they share the name prefix."""
        return {
            "repository_prefix": naming.name_prefix(self.config.project, self.environment),
            "role_name": naming.role_name(self.config.project, self.environment, "gatekeeper"),
            "action": self.config.gatekeeper_action,
            "log_retention": self.log_retention,
        }

    @property
    def has_eks(self) -> bool:
        return self.config.has_eks(self.environment)

    def eks_cluster(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "workload_settings": {
                service.name: self.container_settings(service)
                for service in self.config.services
                if "eks" in service.targets
            },
            "version": settings.eks_version,
            "instance_types": settings.eks_instance_types,
            "min_nodes": settings.eks_min_nodes,
            "max_nodes": settings.eks_max_nodes,
            "admin_role_arns": settings.eks_admin_role_arns,
            "log_retention": self.log_retention,
        }
