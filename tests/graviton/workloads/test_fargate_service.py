"""The web service on ECS Fargate ARM64: ALB, /health, circuit breaker, CPU autoscaling, non-root, logs, VPC."""

from __future__ import annotations

import pytest
from support import ROOT, one, repo_context

from graviton.constants import CONTAINER_PORT
from graviton_app.config import load_config


@pytest.fixture(scope="module")
def config():
    return load_config(repo_context(), root=ROOT)


@pytest.fixture(scope="module")
def task(dev):
    return one(dev, "AWS::ECS::TaskDefinition")


@pytest.fixture(scope="module")
def container(task):
    (container,) = task[1]["Properties"]["ContainerDefinitions"]
    return container


def test_the_task_is_fargate_arm64_linux_sized_from_config(task, config):
    props = task[1]["Properties"]
    dev = config.environments["dev"]
    assert props["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    assert props["RequiresCompatibilities"] == ["FARGATE"]
    assert (props["Cpu"], props["Memory"]) == (str(dev.ecs_cpu), str(dev.ecs_memory_mb))


def test_prod_sizes_its_tasks_from_its_own_config(synthesized, config):
    _, task = one(synthesized.template("prod"), "AWS::ECS::TaskDefinition")
    prod = config.environments["prod"]
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == (str(prod.ecs_cpu), str(prod.ecs_memory_mb))
    assert prod.ecs_cpu != config.environments["dev"].ecs_cpu


def test_the_container_runs_the_built_image_as_non_root_on_8080(dev, container):
    _, image = one(
        dev, "Custom::ArmImageBuild", {"RepositoryName": {"Ref": container["Image"]["Fn::Join"][1][-2]["Ref"]}}
    )
    assert container["Image"]["Fn::Join"][1][-1] == f":{image['Properties']['ImageTag']}"
    assert container["User"] == "10001:10001"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["PortMappings"] == [{"ContainerPort": CONTAINER_PORT, "Protocol": "tcp"}]
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]


def test_the_container_checks_its_own_health_on_the_health_route(container):
    command = container["HealthCheck"]["Command"]
    assert command[0] == "CMD" and f"http://127.0.0.1:{CONTAINER_PORT}/health" in command[-1]


def test_container_logs_go_to_a_log_group_with_the_environments_retention(dev, container, config):
    options = container["LogConfiguration"]
    assert options["LogDriver"] == "awslogs"
    group = options["Options"]["awslogs-group"]["Ref"]
    retention = dev.to_json()["Resources"][group]["Properties"]["RetentionInDays"]
    assert retention == config.environments["dev"].log_retention_days


def test_the_service_starts_after_its_image_exists_and_rolls_back_failed_deployments(dev):
    _, service = one(dev, "AWS::ECS::Service")
    props = service["Properties"]
    assert props["LaunchType"] == "FARGATE"
    assert "DesiredCount" not in props  # a deploy must not reset what autoscaling chose
    assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    images = dev.find_resources("Custom::ArmImageBuild")
    assert set(images) & set(service["DependsOn"])


def test_the_load_balancer_checks_the_health_route_on_the_container_port(dev):
    _, group = one(dev, "AWS::ElasticLoadBalancingV2::TargetGroup")
    props = group["Properties"]
    assert (props["HealthCheckPath"], props["Matcher"], props["Port"]) == ("/health", {"HttpCode": "200"}, 80)
    assert props["TargetType"] == "ip"
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in props["TargetGroupAttributes"]
    _, balancer = one(dev, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Properties"]["Scheme"] == "internet-facing"


def test_only_the_load_balancer_reaches_the_tasks(dev):
    _, service = one(dev, "AWS::ECS::Service")
    (task_group,) = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    ingress = dev.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"GroupId": task_group}})
    assert len(ingress) == 1
    (rule,) = ingress.values()
    _, balancer = one(dev, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert [rule["Properties"]["SourceSecurityGroupId"]] == balancer["Properties"]["SecurityGroups"]
    assert rule["Properties"]["FromPort"] == CONTAINER_PORT


def test_cpu_drives_the_task_count_between_the_configured_bounds(synthesized, config):
    for environment in ("dev", "prod"):
        template = synthesized.template(environment)
        settings = config.environments[environment]
        _, target = one(template, "AWS::ApplicationAutoScaling::ScalableTarget")
        assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (
            settings.ecs_min_tasks,
            settings.ecs_max_tasks,
        )
        _, policy = one(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}
        assert tracking["TargetValue"] == 60


def test_dev_runs_tasks_in_public_subnets_without_nat(dev):
    dev.resource_count_is("AWS::EC2::NatGateway", 0)
    _, service = one(dev, "AWS::ECS::Service")
    assert service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    subnets = dev.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2 and all(s["Properties"]["MapPublicIpOnLaunch"] for s in subnets.values())


def test_prod_runs_tasks_in_private_subnets_behind_its_nat_gateways(synthesized, config):
    prod = synthesized.template("prod")
    prod.resource_count_is("AWS::EC2::NatGateway", config.environments["prod"].nat_gateways)
    _, service = one(prod, "AWS::ECS::Service")
    network = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    private = {
        name
        for name, s in prod.find_resources("AWS::EC2::Subnet").items()
        if not s["Properties"]["MapPublicIpOnLaunch"]
    }
    assert {subnet["Ref"] for subnet in network["Subnets"]} == private


def test_the_vpc_logs_its_flows(dev):
    _, flow_log = one(dev, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["Properties"]["TrafficType"] == "ALL"


def test_the_service_url_is_an_output(dev):
    balancer, _ = one(dev, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    url = dev.to_json()["Outputs"]["WebEcsUrl"]["Value"]
    assert url == {"Fn::Join": ["", ["http://", {"Fn::GetAtt": [balancer, "DNSName"]}]]}
