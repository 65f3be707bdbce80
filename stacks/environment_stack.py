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
    ArmFargateService,
    ArmImageBuild,
    ArmImageFunction,
    BuildArtifactsKey,
    BuildSourcesBucket,
    ContainerImage,
    EnvironmentNetwork,
    FunctionAlarms,
    ImageRepository,
    PromotedImage,
    RegistryGatekeeper,
    SharedHttpApi,
    SharedLoadBalancer,
)
from graviton_app import naming
from graviton_app.config import AppConfig, ServiceConfig
from graviton_app.props import EnvironmentProps


@dataclass(frozen=True)
class EnvironmentOutputs:
    """What others read from a deployed environment: the base URL outputs of its HTTP targets, by output key
    (`LambdaBaseUrl`, `EcsBaseUrl`); each service answers under its path (`AppConfig.endpoints`)."""

    base_urls: dict[str, CfnOutput] = field(default_factory=dict)


class EnvironmentStack(Stack):
    """One environment: per service an ECR repository and a native ARM image build (or the building environment's
    image), then its workloads: an arm64 Lambda behind an HTTP API, a Fargate ARM64 service on the environment's one
    cluster behind its one HTTPS-only load balancer, both, or pods on the environment's Graviton EKS cluster."""

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, environment: str, root: Path, **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        self.props = props = EnvironmentProps(config, environment, root)
        for key, value in props.tags.items():
            Tags.of(self).add(key, value)
        self.alarms = AlarmTopic(self, "Alarms", **props.alarm_topic())
        self.images: dict[str, ContainerImage] = {}
        repositories: list[ImageRepository] = []
        builds: list[ArmImageBuild] = []
        for service in config.services:
            sid = service.construct_id
            outputs: dict[str, str] = {}
            image: ContainerImage
            if props.builds:
                repository = ImageRepository(self, f"{sid}Repository", **props.repository(service))
                repositories.append(repository)
                image = ArmImageBuild(
                    self,
                    service.build_construct_id,
                    repository=repository,
                    encryption_key=self.key,
                    sources_bucket=self.sources_bucket,
                    **props.image_build(service),
                )
                builds.append(image)
                outputs[naming.OUTPUT_BUILD_PROJECT] = image.project.project_name
                outputs[naming.OUTPUT_REPOSITORY_URI] = image.repository.repository_uri
            else:
                image = PromotedImage(self, f"{sid}Image", **props.promoted_image(service))
            self.images[service.name] = image
            outputs[naming.OUTPUT_IMAGE_URI] = image.image_uri
            for what, value in outputs.items():
                CfnOutput(self, naming.output_key(service.name, what), value=value)
            self._workloads(service, image)
        if repositories:
            gatekeeper = RegistryGatekeeper(
                self, "RegistryGatekeeper", repositories=repositories, topic=self.alarms, **props.gatekeeper()
            )
            gatekeeper.check_before(*(build.image for build in builds))
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

    def _workloads(self, service: ServiceConfig, image: ContainerImage) -> None:
        """The service's HTTP workloads: a function on the shared HTTP API, a Fargate service behind the shared load
        balancer."""
        sid, props = service.construct_id, self.props
        if "lambda" in service.targets:
            function = ArmImageFunction(self, f"{sid}Function", image=image, **props.function(service)).function
            FunctionAlarms(
                self,
                f"{sid}FunctionAlarms",
                function=function,
                topic=self.alarms,
                timeout=props.lambda_timeout(service),
            )
            self.http_api.add_function(self, f"{sid}Route", path=service.route_path, function=function)
        if "ecs" in service.targets:
            ArmFargateService(
                self,
                f"{sid}Service",
                image=image,
                cluster=self.cluster,
                load_balancer=self.load_balancer,
                task_subnets=self.network.workload_subnets,
                assign_public_ip=self.network.public_ip,
                **props.fargate_service(service),
            )

    def _eks_cluster(self, config: AppConfig) -> None:
        """Graviton node groups, and an ARM CodeBuild step that applies the `eks` services after each deploy."""
        from graviton import ArmEksCluster  # aws_eks takes a while to load: only environments with a cluster pay it

        cluster = ArmEksCluster(
            self,
            "Eks",
            vpc=self.network.vpc,
            subnets=self.network.workload_subnets,
            workloads={s.name: self.images[s.name] for s in config.services if "eks" in s.targets},
            encryption_key=self.key,
            **self.props.eks_cluster(),
        )
        CfnOutput(self, naming.OUTPUT_EKS_CLUSTER, value=cluster.cluster_name)
        if cluster.apply_project is not None:
            CfnOutput(self, naming.OUTPUT_EKS_APPLY_PROJECT, value=cluster.apply_project.project_name)

    @cached_property
    def key(self) -> BuildArtifactsKey:
        return BuildArtifactsKey(self, "BuildKey")

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
