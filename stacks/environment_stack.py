"""EnvironmentStack: everything one environment (dev, test or prod) runs, on Graviton."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack, Tags
from aws_cdk import aws_ecs as ecs

from constructs import Construct
from graviton import (
    AlarmTopic,
    BuildArtifactsKey,
    BuildSourcesBucket,
    EnvironmentNetwork,
    ImageBuildProvider,
    LogGroupEncryption,
    RegistryGatekeeper,
    SharedHttpApi,
    SharedLoadBalancer,
)
from graviton_app import naming
from graviton_app.config import AppConfig
from graviton_app.props import EnvironmentProps
from stacks.service_stack import ServiceStack


@dataclass(frozen=True)
class EnvironmentOutputs:
    """What others read from a deployed environment: the base URL outputs of its HTTP targets, by output key
    (`LambdaBaseUrl`, `EcsBaseUrl`); each service answers under its path (`AppConfig.endpoints`)."""

    base_urls: dict[str, CfnOutput] = field(default_factory=dict)


class EnvironmentStack(Stack):
    """One environment: the parts its services share (network, one ECS cluster, one HTTPS-only load balancer, one
    HTTP API, the alarm topic, the build key and sources bucket, the image-build provider, the registry gatekeeper,
    the Graviton EKS cluster) and one nested ServiceStack per service: its ECR repository and native ARM image build
    (or the building environment's image), its arm64 Lambda, its Fargate ARM64 service."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, environment: str, root: Path, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.props = props = EnvironmentProps(config, environment, root)
        for key, value in props.tags.items():
            Tags.of(self).add(key, value)
        self.alarms = AlarmTopic(self, "Alarms", **props.alarm_topic())
        # Every log group of the environment and its services, deleted with the stack as the key is.
        LogGroupEncryption.apply(self, key=self.key)
        provider = ImageBuildProvider.of(self)
        if props.builds:
            # Every service's build and repository, in its own nested stack, is covered by these name patterns.
            provider.allow_builds(**props.build_patterns())
            self.gatekeeper = RegistryGatekeeper(self, "RegistryGatekeeper", topic=self.alarms, **props.gatekeeper())
        else:
            provider.allow_lookups(**props.promoted_lookups())
        self.services = {
            service.name: ServiceStack(self, naming.service_stack_id(service.name), service=service)
            for service in config.services
        }
        if props.has_eks:
            self._eks_cluster(config)
        if props.builds:
            CfnOutput(self, naming.OUTPUT_SOURCES_BUCKET, value=self.sources_bucket.bucket_name)
        base_urls = {}
        if any("lambda" in s.targets for s in config.services):
            base_urls[naming.base_url_output("lambda")] = self.http_api.url
        if any("ecs" in s.targets for s in config.services):
            base_urls[naming.base_url_output("ecs")] = self.load_balancer.url
        self.outputs = EnvironmentOutputs(
            base_urls={key: CfnOutput(self, key, value=url) for key, url in base_urls.items()}
        )

    @classmethod
    def for_environment(cls, scope: Construct, *, config: AppConfig, environment: str, root: Path) -> EnvironmentStack:
        """`DevStack` (or `TestStack`, `ProdStack`) as `cdk deploy` and the pipeline both deploy it."""
        settings = config.environment(environment)
        pinned = settings.account or settings.region  # unset: environment-agnostic, synth needs no credentials
        name = naming.stack_name(environment)
        return cls(
            scope,
            name,
            config=config,
            environment=environment,
            root=root,
            env=Environment(account=settings.account, region=settings.region) if pinned else None,
            # Inside a pipeline stage the default name would be `Dev-DevStack`: keep the one `cdk deploy` uses.
            stack_name=name,
            description=EnvironmentProps(config, environment, root).description,
        )

    def _eks_cluster(self, config: AppConfig) -> None:
        """Graviton node groups, and an ARM CodeBuild step that applies the `eks` services after each deploy."""
        from graviton import ArmEksCluster  # aws_eks takes a while to load: only environments with a cluster pay it

        cluster = ArmEksCluster(
            self,
            "Eks",
            vpc=self.network.vpc,
            subnets=self.network.workload_subnets,
            workloads={s.name: self.services[s.name].image for s in config.services if "eks" in s.targets},
            encryption_key=self.key,
            **self.props.eks_cluster(),
        )
        CfnOutput(self, naming.OUTPUT_EKS_CLUSTER, value=cluster.cluster_name)
        if cluster.apply_project is not None:
            CfnOutput(self, naming.OUTPUT_EKS_APPLY_PROJECT, value=cluster.apply_project.project_name)

    @cached_property
    def key(self) -> BuildArtifactsKey:
        return BuildArtifactsKey(self, "BuildKey", description="build artifacts and logs")

    @cached_property
    def sources_bucket(self) -> BuildSourcesBucket:
        return BuildSourcesBucket(self, "BuildSources")

    @cached_property
    def http_api(self) -> SharedHttpApi:
        """The one HTTP API in front of every `lambda` service of the environment, each under its path."""
        return SharedHttpApi(self, "Api", log_retention=self.props.log_retention)

    @cached_property
    def cluster(self) -> ecs.Cluster:
        """The one ECS cluster every `ecs` service of the environment runs on."""
        return ecs.Cluster(self, "Cluster", vpc=self.network.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)

    @cached_property
    def load_balancer(self) -> SharedLoadBalancer:
        """The one load balancer in front of every `ecs` service of the environment, each on a rule of its own."""
        return SharedLoadBalancer(self, "Front", vpc=self.network.vpc, **self.props.shared_load_balancer())

    @cached_property
    def network(self) -> EnvironmentNetwork:
        """Created on first use: an environment with only Lambda workloads needs no VPC."""
        return EnvironmentNetwork(self, "Network", **self.props.network())
