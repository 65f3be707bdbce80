"""ServiceStack: one service's parts in one environment, in a nested stack of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import CfnOutput

from graviton import (
    ArmFargateService,
    ArmImageBuild,
    ArmImageFunction,
    ContainerImage,
    FunctionAlarms,
    ImageRepository,
    PortableNestedStack,
    PromotedImage,
)
from graviton_app import naming
from graviton_app.config import ServiceConfig

if TYPE_CHECKING:
    from stacks.environment_stack import EnvironmentStack


class ServiceStack(PortableNestedStack):
    """A service's repository and native ARM image build (or the building environment's image), its arm64 function
    on the environment's HTTP API with its alarms, and its Fargate service on the environment's cluster behind its
    load balancer, with its own security group, roles, logs and scaling.

    Each service is a nested stack of its environment's stack, so an environment holds its 200 services within
    CloudFormation's limits per template, and `cdk deploy DevStack` still deploys it all. What the service uses of
    the environment reaches it as the nested stack's parameters, named the same from `cdk deploy` and from the
    pipeline; nothing is exported.
    """

    def __init__(self, environment: EnvironmentStack, id: str, *, service: ServiceConfig) -> None:
        props = environment.props
        super().__init__(environment, id, description=f"{props.description}: service {service.name}")
        outputs: dict[str, str] = {}
        self.image: ContainerImage
        if props.builds:
            repository = ImageRepository(self, "Repository", **props.repository(service))
            environment.gatekeeper.guard(repository)
            build = ArmImageBuild(
                self,
                service.build_construct_id,
                repository=repository,
                encryption_key=environment.key,
                sources_bucket=environment.sources_bucket,
                **props.image_build(service),
            )
            # Its first push is checked too: the build waits for the gatekeeper's rule and function.
            environment.gatekeeper.check_before(build.image)
            outputs[naming.OUTPUT_BUILD_PROJECT] = build.project.project_name
            outputs[naming.OUTPUT_REPOSITORY_URI] = build.repository.repository_uri
            self.image = build
        else:
            self.image = PromotedImage(self, "Image", **props.promoted_image(service))
        outputs[naming.OUTPUT_IMAGE_URI] = self.image.image_uri
        for what, value in outputs.items():
            CfnOutput(self, naming.output_key(service.name, what), value=value)
        if "lambda" in service.targets:
            function = ArmImageFunction(self, "Function", image=self.image, **props.function(service)).function
            FunctionAlarms(
                self,
                "FunctionAlarms",
                function=function,
                topic=environment.alarms,
                timeout=props.lambda_timeout(service),
            )
            environment.http_api.add_function(self, "Route", path=service.route_path, function=function)
        if "ecs" in service.targets:
            ArmFargateService(
                self,
                "Service",
                image=self.image,
                cluster=environment.cluster,
                load_balancer=environment.load_balancer,
                task_subnets=environment.network.workload_subnets,
                assign_public_ip=environment.network.public_ip,
                **props.fargate_service(service),
            )
