"""Every `ecs` service on ECS Fargate ARM64: ALB, /health, circuit breaker, CPU autoscaling, non-root, logs, VPC."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from support import build_parts, fargate_parts, one, synthesized_services

from graviton.constants import CONTAINER_PORT
from graviton_app import naming


@pytest.fixture(scope="module", params=synthesized_services("ecs"))
def service(request) -> str:
    """Each `ecs` service of the configuration the app was synthesized with."""
    return request.param


@pytest.fixture(scope="module")
def parts(dev, service):
    return fargate_parts(dev, service)


@pytest.fixture(scope="module")
def task(dev, parts):
    return parts.task, dev.to_json()["Resources"][parts.task]


def resource(template, logical_id: str) -> dict:
    return template.to_json()["Resources"][logical_id]


def test_every_ecs_service_of_the_configuration_is_tested(config):
    assert [s.name for s in config.services if "ecs" in s.targets] == synthesized_services("ecs")


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


def test_prod_sizes_its_tasks_from_its_own_config(synthesized, config, service):
    prod_template = synthesized.template("prod")
    task = resource(prod_template, fargate_parts(prod_template, service).task)
    prod = config.environments["prod"]
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == (str(prod.ecs_cpu), str(prod.ecs_memory_mb))
    assert prod.ecs_cpu != config.environments["dev"].ecs_cpu


def test_the_container_runs_the_services_built_image_as_non_root_on_8080(dev, container, config, service):
    built = build_parts(dev, config, "dev", service)
    assert container["Image"]["Fn::Join"][1][-2] == {"Ref": built.repository[0]}
    assert container["Image"]["Fn::Join"][1][-1] == f":{built.image[1]['Properties']['ImageTag']}"
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


def test_the_service_starts_after_its_image_exists_and_rolls_back_failed_deployments(dev, parts, config, service):
    ecs_service = resource(dev, parts.service)
    props = ecs_service["Properties"]
    assert props["LaunchType"] == "FARGATE"
    assert "DesiredCount" not in props  # a deploy must not reset what autoscaling chose
    assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert build_parts(dev, config, "dev", service).image[0] in ecs_service["DependsOn"]


def test_the_load_balancer_checks_the_health_route_on_the_container_port(dev, parts):
    props = resource(dev, parts.target_group)["Properties"]
    assert (props["HealthCheckPath"], props["Matcher"], props["Port"]) == ("/health", {"HttpCode": "200"}, 80)
    assert props["TargetType"] == "ip"
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in props["TargetGroupAttributes"]
    assert resource(dev, parts.balancer)["Properties"]["Scheme"] == "internet-facing"


def test_only_the_load_balancer_reaches_the_tasks(dev, parts):
    service = resource(dev, parts.service)
    (task_group,) = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    ingress = dev.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"GroupId": task_group}})
    assert len(ingress) == 1
    (rule,) = ingress.values()
    balancer = resource(dev, parts.balancer)
    assert [rule["Properties"]["SourceSecurityGroupId"]] == balancer["Properties"]["SecurityGroups"]
    assert rule["Properties"]["FromPort"] == CONTAINER_PORT


def test_cpu_drives_the_task_count_between_the_configured_bounds(synthesized, config, service):
    for environment in ("dev", "prod"):
        template = synthesized.template(environment)
        settings = config.environments[environment]
        ecs_service = fargate_parts(template, service).service
        scaling_target = {
            "ResourceId": {
                "Fn::Join": ["", ["service/", Match.any_value(), "/", {"Fn::GetAtt": [ecs_service, "Name"]}]]
            }
        }
        target_id, target = one(template, "AWS::ApplicationAutoScaling::ScalableTarget", scaling_target)
        assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (
            settings.ecs_min_tasks,
            settings.ecs_max_tasks,
        )
        _, policy = one(template, "AWS::ApplicationAutoScaling::ScalingPolicy", {"ScalingTargetId": {"Ref": target_id}})
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}
        assert tracking["TargetValue"] == 60


def test_dev_runs_tasks_in_public_subnets_without_nat(dev, parts):
    dev.resource_count_is("AWS::EC2::NatGateway", 0)
    service = resource(dev, parts.service)
    assert service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    subnets = dev.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2 and all(s["Properties"]["MapPublicIpOnLaunch"] for s in subnets.values())


def test_prod_runs_tasks_in_private_subnets_behind_its_nat_gateways(synthesized, config, service):
    prod = synthesized.template("prod")
    prod.resource_count_is("AWS::EC2::NatGateway", config.environments["prod"].nat_gateways)
    ecs_service = resource(prod, fargate_parts(prod, service).service)
    network = ecs_service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
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


def test_the_service_url_is_an_output(dev, parts, service):
    url = dev.to_json()["Outputs"][naming.url_output_key(service, "ecs")]["Value"]
    assert url == {"Fn::Join": ["", ["http://", {"Fn::GetAtt": [parts.balancer, "DNSName"]}]]}
    assert dev.to_json()["Resources"][parts.balancer]["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
