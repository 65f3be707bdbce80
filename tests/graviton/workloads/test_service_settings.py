"""A service's own container settings and sizes, from cdk.json to the task definition, the target group, the Lambda
and the EKS manifest.

One small guarded stack is synthesized for the module: a service with every setting changed from its default
(cdk.json's first service, given every target), its workloads built from `EnvironmentProps` exactly as the stack
builds them, on an image already in ECR. The sample services' defaults are covered by test_fargate_service.py and
the EKS tests.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template
from support import ROOT, one, public_vpc, repo_context

from graviton import ArmEksCluster, ArmFargateService, ArmImageFunction, ExistingImage, SharedLoadBalancer
from graviton.eks.manifests import workload_manifests
from graviton.guardrails.guard import guard
from graviton.workloads.container_settings import ContainerSettings
from graviton_app.config import load_config
from graviton_app.props import EnvironmentProps

DIGEST = "sha256:" + "ab" * 32
OWN = {
    "port": 9000,
    "health_path": "/ready",
    "health_check": "none",
    "user": "20001:20002",
    "read_only_root": False,
    "ecs_cpu": 1024,
    "ecs_memory_mb": 3072,
    "ecs_min_tasks": 2,
    "ecs_max_tasks": 4,
    "lambda_memory_mb": 2048,
    "lambda_timeout_seconds": 30,
}


@pytest.fixture(scope="module")
def props() -> tuple[EnvironmentProps, Any]:
    context = copy.deepcopy(repo_context())
    context["services"][0].update(targets=["lambda", "ecs", "eks"], **OWN)
    config = load_config(context, root=ROOT)
    return EnvironmentProps(config, "dev", ROOT), config.services[0]


@pytest.fixture(scope="module")
def template(props) -> Template:
    environment, service = props
    app = cdk.App()
    guard(app)  # the workloads stay arm64 whatever the service's settings and wherever its image comes from
    stack = cdk.Stack(app, "ServiceSettings")
    vpc = public_vpc(stack)
    image = ExistingImage.from_digest(
        stack, "Image", repository=ecr.Repository.from_repository_name(stack, "Repository", "team/app"), digest=DIGEST
    )
    ArmFargateService(
        stack,
        "Service",
        image=image,
        cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
        load_balancer=SharedLoadBalancer(stack, "Front", vpc=vpc, **environment.shared_load_balancer()),
        assign_public_ip=True,
        **environment.fargate_service(service),
    )
    ArmImageFunction(stack, "Function", image=image, **environment.function(service))
    ArmEksCluster(
        stack,
        "Eks",
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        # As the stack wires it: every service with the eks target (the others on the same image, with their settings).
        workloads={s.name: image for s in environment.config.services if "eks" in s.targets},
        **environment.eks_cluster(),
    )
    app.synth()
    return Template.from_stack(stack)


def container(template: Template) -> dict[str, Any]:
    _, task = one(template, "AWS::ECS::TaskDefinition")
    (found,) = task["Properties"]["ContainerDefinitions"]
    return found


def test_the_task_listens_runs_and_is_sized_as_the_service_says(template):
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == ("1024", "3072")
    assert task["Properties"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    found = container(template)
    assert found["PortMappings"] == [{"ContainerPort": 9000, "Protocol": "tcp"}]
    assert found["User"] == "20001:20002"
    assert found["ReadonlyRootFilesystem"] is False


def test_health_check_none_leaves_the_container_without_one(template):
    assert "HealthCheck" not in container(template)


def test_the_load_balancer_checks_the_services_path_on_its_port(template):
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup", {"HealthCheckPath": "/ready", "Matcher": {"HttpCode": "200"}}
    )
    # The health check goes to the traffic port: the port the service registers its tasks on.
    _, service = one(template, "AWS::ECS::Service")
    assert [lb["ContainerPort"] for lb in service["Properties"]["LoadBalancers"]] == [9000]
    template.has_resource_properties("AWS::EC2::SecurityGroupIngress", {"FromPort": 9000, "ToPort": 9000})


def test_the_task_count_moves_between_the_services_own_bounds(template):
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2, "MaxCapacity": 4}
    )


def test_the_function_has_the_services_memory_and_timeout(template, props):
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"PackageType": "Image", "MemorySize": 2048, "Timeout": 30, "Architectures": ["arm64"]},
    )
    environment, service = props
    # The duration alarm's threshold follows the same timeout.
    assert environment.lambda_timeout(service).to_seconds() == 30


def manifests(template: Template) -> dict[str, Any]:
    """The apply project's MANIFESTS, with each CloudFormation token (inside a JSON string) read as 'TOKEN'."""
    _, project = one(template, "AWS::CodeBuild::Project")
    variables = {v["Name"]: v["Value"] for v in project["Properties"]["Environment"]["EnvironmentVariables"]}
    return json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in variables["MANIFESTS"]["Fn::Join"][1]))


def test_the_eks_pods_listen_are_probed_and_run_as_the_service_says(template, props):
    _, service = props
    [deployment] = [
        item
        for item in manifests(template)["items"]
        if item["kind"] == "Deployment" and item["metadata"]["name"] == service.name
    ]
    [pod] = deployment["spec"]["template"]["spec"]["containers"]
    assert pod["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert pod["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert pod["livenessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    security = pod["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"], security["runAsNonRoot"]) == (20001, 20002, True)
    assert security["readOnlyRootFilesystem"] is False
    assert pod["image"].endswith(f"/team/app@{DIGEST}")


def test_the_default_container_check_uses_the_services_port_and_path():
    template = Template.from_stack(fargate_stack(port=9100, health_path="/livez"))
    command = container(template)["HealthCheck"]["Command"]
    assert command[:3] == ["CMD", "python", "-c"] and "'http://127.0.0.1:9100/livez'" in command[3]


def test_a_health_check_command_of_the_services_own_reaches_the_container():
    command = ["CMD-SHELL", "wget -qO- http://127.0.0.1:8080/health || exit 1"]
    template = Template.from_stack(fargate_stack(health_check=command))
    assert container(template)["HealthCheck"]["Command"] == command


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"port": 80}, "ArmFargateService: port 80 must be 1024 to 65535"),
        ({"user": "0:0"}, "ArmFargateService: user '0:0' must not be root"),
        ({"health_path": "ready"}, "ArmFargateService: health_path 'ready' must be a URL path starting with '/'"),
        ({"health_check": ["curl", "-f", "x"]}, "ArmFargateService: health_check ['curl', '-f', 'x'] must be"),
    ],
)
def test_bad_container_props_are_refused_with_one_line(props, message):
    with pytest.raises(ValueError) as caught:
        fargate_stack(**props)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def fargate_stack(**props: Any) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "S")
    repository = ecr.Repository.from_repository_name(stack, "Repository", "team/app")
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    ArmFargateService(
        stack,
        "Service",
        image=ExistingImage.from_digest(stack, "Image", repository=repository, digest=DIGEST),
        cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
        load_balancer=SharedLoadBalancer(stack, "Front", vpc=vpc),
        rule_priority=1,
        path="/app",
        **props,
    )
    return stack


def test_workload_manifests_take_each_workloads_own_settings_and_default_the_rest():
    own = ContainerSettings(port=9000, health_path="/ready", user="20001:20002", read_only_root=False)
    found = workload_manifests({"a": "repo/a:1", "b": "repo/b:1"}, settings={"a": own})
    pods = {
        item["metadata"]["name"]: item["spec"]["template"]["spec"]["containers"][0]
        for item in found["items"]
        if item["kind"] == "Deployment"
    }
    assert pods["a"]["ports"][0]["containerPort"] == 9000
    assert pods["a"]["securityContext"]["runAsGroup"] == 20002
    [default] = [item for item in workload_manifests({"b": "repo/b:1"})["items"] if item["kind"] == "Deployment"]
    assert pods["b"] == default["spec"]["template"]["spec"]["containers"][0]


def test_settings_for_a_workload_that_does_not_exist_are_refused():
    with pytest.raises(ValueError, match="settings name 'c', which is not a workload; workloads: a"):
        workload_manifests({"a": "repo/a:1"}, settings={"c": ContainerSettings()})


def test_a_service_without_its_own_settings_gets_the_environments_and_the_library_defaults():
    config = load_config(repo_context(), root=ROOT)
    environment = EnvironmentProps(config, "prod", ROOT)
    for service in config.services:
        if "ecs" in service.targets:
            fargate = environment.fargate_service(service)
            prod = config.environments["prod"]
            assert (fargate["cpu"], fargate["memory_mb"], fargate["min_tasks"], fargate["max_tasks"]) == (
                prod.ecs_cpu,
                prod.ecs_memory_mb,
                prod.ecs_min_tasks,
                prod.ecs_max_tasks,
            )
            assert environment.container_settings(service) == ContainerSettings()
        if "lambda" in service.targets:
            function = environment.function(service)
            assert function["memory_mb"] == config.environments["prod"].lambda_memory_mb
