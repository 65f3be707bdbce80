"""EnvironmentStack: everything one environment (dev, test or prod) runs, on Graviton."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from aws_cdk import CfnOutput, Duration, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs import Construct
from graviton import (
    AlarmTopic,
    AppConfig,
    ArmFargateService,
    ArmImageBuild,
    ArmImageFunction,
    EnvironmentNetwork,
    FunctionAlarms,
    FunctionHttpApi,
    ImageRepository,
    ServiceConfig,
)
from graviton.constants import (
    BUILD_SOURCES_DAYS,
    LOG_RETENTION,
    OUTPUT_BUILD_PROJECT,
    OUTPUT_EKS_APPLY_PROJECT,
    OUTPUT_EKS_CLUSTER,
    OUTPUT_IMAGE_URI,
    OUTPUT_REPOSITORY_URI,
    OUTPUT_SOURCES_BUCKET,
    OUTPUT_URL,
    output_key,
    stack_name,
)
from graviton.eks import ArmEksCluster
from graviton.image_build import ContainerImage, PromotedImage
from graviton.nag import acknowledge
from graviton.registry.gatekeeper import RegistryGatekeeper


class EnvironmentStack(Stack):
    """One environment: per service an ECR repository and a native ARM image build, then its workloads:
    an arm64 Lambda behind an HTTP API, a Fargate ARM64 service behind an ALB, or both."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: AppConfig,
        environment: str,
        root: Path,
        **kwargs,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.environment_name = environment
        self.settings = config.environment(environment)
        self.log_retention = LOG_RETENTION[self.settings.log_retention_days]
        Tags.of(self).add("project", config.project)
        Tags.of(self).add("environment", environment)
        self.root = root
        self.alarms = AlarmTopic(self, "Alarms", email=self.settings.alarm_email)
        self.images: dict[str, ContainerImage] = {}
        # The repositories this environment owns (it builds): the registry gatekeeper checks every push to them.
        self.repositories: list[ImageRepository] = []
        # Each service's endpoint, for the post-deploy verification that reads stack outputs.
        self.url_outputs: dict[str, CfnOutput] = {}
        for service in config.services:
            if self.settings.images_from:
                image, outputs = self._promoted_image(service)
            else:
                image, outputs = self._built_image(service)
            self.images[service.name] = image
            outputs[OUTPUT_IMAGE_URI] = image.image_uri
            if "lambda" in service.targets:
                outputs[OUTPUT_URL] = self._lambda_api(service, image)
            if "ecs" in service.targets:
                outputs[OUTPUT_URL] = self._fargate_service(service, image)
            for what, value in outputs.items():
                output = CfnOutput(self, output_key(service.construct_id, what), value=value)
                if what == OUTPUT_URL:
                    self.url_outputs[service.name] = output
        if self.repositories:
            RegistryGatekeeper(
                self,
                "RegistryGatekeeper",
                repositories=self.repositories,
                topic=self.alarms,
                action=config.gatekeeper_action,
                log_retention=self.log_retention,
            )
        if config.has_eks(environment):
            self._eks_cluster()
        if not self.settings.images_from:
            CfnOutput(self, OUTPUT_SOURCES_BUCKET, value=self.sources_bucket.bucket_name)

    def _built_image(self, service: ServiceConfig) -> tuple[ArmImageBuild, dict[str, str]]:
        """This environment builds the service: its repository, its ARM build, docker-push's outputs."""
        promoted_to = self.config.promoted_to(self.environment_name)
        # Environments that run these images keep them: their retention and image count win.
        keep = [self.settings.max_image_count, *(self.config.environment(e).max_image_count for e in promoted_to)]
        repository = ImageRepository(
            self,
            f"{service.construct_id}Repository",
            repository_name=f"{self.config.project}-{self.environment_name}-{service.name}",
            max_image_count=max(keep),
            pull_accounts=self._other_accounts(promoted_to),
            retain=self.environment_name == "prod" or bool(promoted_to),
        )
        self.repositories.append(repository)
        build = ArmImageBuild(
            self,
            service.build_construct_id,
            repository=repository,
            source_dir=self.root / service.source_dir,
            dockerfile=service.dockerfile,
            build_args=service.build_args,
            encryption_key=self.key,
            timeout=Duration.minutes(self.settings.image_build_timeout_minutes),
            sources_bucket=self.sources_bucket,
        )
        outputs = {
            OUTPUT_BUILD_PROJECT: build.project.project_name,
            OUTPUT_REPOSITORY_URI: build.repository.repository_uri,
        }
        return build, outputs

    def _promoted_image(self, service: ServiceConfig) -> tuple[PromotedImage, dict[str, str]]:
        """The building environment's image of the service, by the same tag: built once, promoted as is."""
        source_name = self.settings.images_from
        source = self.config.environment(source_name)
        image = PromotedImage(
            self,
            f"{service.construct_id}Image",
            repository_name=f"{self.config.project}-{source_name}-{service.name}",
            source_dir=self.root / service.source_dir,
            dockerfile=service.dockerfile,
            build_args=service.build_args,
            account=source.account,
            region=source.region,
        )
        return image, {}

    def _other_accounts(self, environments: list[str]) -> list[str]:
        """Accounts of `environments` that differ from this one's: they need the repository's pull policy."""
        accounts = {self.config.environment(e).account for e in environments}
        return sorted(a for a in accounts if a and a != self.settings.account)

    @cached_property
    def key(self) -> kms.Key:
        return kms.Key(self, "BuildKey", enable_key_rotation=True, description="image build artifacts")

    @cached_property
    def sources_bucket(self) -> s3.Bucket:
        return self._sources_bucket()

    @classmethod
    def for_environment(cls, scope: Construct, *, config: AppConfig, environment: str, root: Path) -> EnvironmentStack:
        """`DevStack` (or `TestStack`, `ProdStack`) as `cdk deploy` and the pipeline both deploy it."""
        settings = config.environment(environment)
        pinned = settings.account or settings.region  # unset: environment-agnostic, synth needs no credentials
        return cls(
            scope,
            stack_name(environment),
            config=config,
            environment=environment,
            root=root,
            env=Environment(account=settings.account, region=settings.region) if pinned else None,
            # Inside a pipeline stage the default name would be `Dev-DevStack`: keep the one `cdk deploy` uses.
            stack_name=stack_name(environment),
            description=f"{config.project} {environment}: arm64 (Graviton) container workloads",
        )

    def _environment_variables(self, service: ServiceConfig) -> dict[str, str]:
        return {
            "POWERTOOLS_SERVICE_NAME": service.name,
            "POWERTOOLS_METRICS_NAMESPACE": self.config.project,
            "ENVIRONMENT": self.environment_name,
        }

    def _lambda_api(self, service: ServiceConfig, build: ContainerImage) -> str:
        """An arm64 function behind an HTTP API, with alarms; returns the API's URL."""
        timeout = Duration.seconds(self.settings.lambda_timeout_seconds)
        function = ArmImageFunction(
            self,
            f"{service.construct_id}Function",
            image=build,
            memory_mb=self.settings.lambda_memory_mb,
            timeout=timeout,
            reserved_concurrency=self.settings.lambda_reserved_concurrency,
            environment=self._environment_variables(service),
            log_retention=self.log_retention,
        ).function
        FunctionAlarms(
            self, f"{service.construct_id}FunctionAlarms", function=function, topic=self.alarms, timeout=timeout
        )
        api = FunctionHttpApi(self, f"{service.construct_id}Api", function=function, log_retention=self.log_retention)
        return api.url

    def _fargate_service(self, service: ServiceConfig, build: ContainerImage) -> str:
        """An always-on Fargate ARM64 service behind a public ALB; returns its URL."""
        return ArmFargateService(
            self,
            f"{service.construct_id}Service",
            image=build,
            vpc=self.network.vpc,
            task_subnets=self.network.workload_subnets,
            assign_public_ip=self.network.public_ip,
            cpu=self.settings.ecs_cpu,
            memory_mb=self.settings.ecs_memory_mb,
            min_tasks=self.settings.ecs_min_tasks,
            max_tasks=self.settings.ecs_max_tasks,
            environment=self._environment_variables(service),
            log_retention=self.log_retention,
        ).url

    def _eks_cluster(self) -> None:
        """Graviton node groups, and an ARM CodeBuild step that applies the `eks` services after each deploy."""
        cluster = ArmEksCluster(
            self,
            "Eks",
            vpc=self.network.vpc,
            subnets=self.network.workload_subnets,
            version=self.settings.eks_version,
            instance_types=self.settings.eks_instance_types,
            min_nodes=self.settings.eks_min_nodes,
            max_nodes=self.settings.eks_max_nodes,
            admin_role_arns=self.settings.eks_admin_role_arns,
            workloads={s.name: self.images[s.name] for s in self.config.services if "eks" in s.targets},
            log_retention=self.log_retention,
            encryption_key=self.key,
        )
        CfnOutput(self, OUTPUT_EKS_CLUSTER, value=cluster.cluster_name)
        if cluster.apply_project is not None:
            CfnOutput(self, OUTPUT_EKS_APPLY_PROJECT, value=cluster.apply_project.project_name)

    @cached_property
    def network(self) -> EnvironmentNetwork:
        """Created on first use: an environment with only Lambda workloads needs no VPC."""
        return EnvironmentNetwork(
            self, "Network", nat_gateways=self.settings.nat_gateways, flow_log_retention=self.log_retention
        )

    def _sources_bucket(self) -> s3.Bucket:
        """Where `docker-push` uploads a build context; each build reads only its own prefix."""
        bucket = s3.Bucket(
            self,
            "BuildSources",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(BUILD_SOURCES_DAYS))],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        acknowledge(
            bucket,
            "S1",
            f"holds build contexts for {BUILD_SOURCES_DAYS} days; uploads are recorded by CloudTrail, the builds in"
            " CodeBuild",
        )
        return bucket
