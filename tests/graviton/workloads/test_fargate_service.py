"""Every `ecs` service on ECS Fargate ARM64: the shared load balancer's rule, /health, circuit breaker, CPU autoscaling,
non-root, logs, VPC. A service's parts are in its own nested stack; the cluster, the load balancer, its listener and
security group and the network are its environment's, and reach the nested stack as parameters."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match
from support import (
    FargateParts,
    ServiceStackTemplates,
    build_parts,
    fargate_parts,
    nested_stacks,
    one,
    synthesized_services,
)

from graviton.constants import CONTAINER_PORT
from graviton_app import naming


@pytest.fixture(scope="module", params=synthesized_services("ecs"))
def service(request) -> str:
    """Each `ecs` service of the configuration the app was synthesized with."""
    return request.param


@pytest.fixture(scope="module")
def stacks(synthesized, service) -> ServiceStackTemplates:
    """The service's nested stack in dev, with dev's own template."""
    return synthesized.service("dev", service)


@pytest.fixture(scope="module")
def parts(stacks, config, service):
    return fargate_parts(stacks, config.service(service), domain_name=config.environments["dev"].domain_name)


@pytest.fixture(scope="module")
def task(stacks, parts):
    return parts.task, resource(stacks.template, parts.task)


def resource(template, logical_id: str) -> dict:
    return template.to_json()["Resources"][logical_id]


def service_parts(synthesized, config, environment: str, service: str) -> tuple[ServiceStackTemplates, FargateParts]:
    """A service's nested stack in an environment and its Fargate parts there."""
    stacks = synthesized.service(environment, service)
    domain_name = config.environments[environment].domain_name
    return stacks, fargate_parts(stacks, config.service(service), domain_name=domain_name)


def stacks_by_service(synthesized, config, environment: str) -> dict[str, ServiceStackTemplates]:
    """Every nested stack of an environment (each a service's), by service name."""
    names = [s.name for s in config.services]
    return dict(zip(names, nested_stacks(synthesized, environment), strict=True))


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
    prod_stacks, prod_parts = service_parts(synthesized, config, "prod", service)
    task = resource(prod_stacks.template, prod_parts.task)
    prod = config.environments["prod"]
    assert (task["Properties"]["Cpu"], task["Properties"]["Memory"]) == (str(prod.ecs_cpu), str(prod.ecs_memory_mb))
    assert prod.ecs_cpu != config.environments["dev"].ecs_cpu


def test_the_container_runs_the_services_built_image_as_non_root_on_8080(stacks, container, config, service):
    built = build_parts(stacks.template, config, "dev", service)
    assert container["Image"]["Fn::Join"][1][-2] == {"Ref": built.repository[0]}
    assert container["Image"]["Fn::Join"][1][-1] == f":{built.image[1]['Properties']['ImageTag']}"
    assert container["User"] == "10001:10001"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["PortMappings"] == [{"ContainerPort": CONTAINER_PORT, "Protocol": "tcp"}]
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]


def test_the_container_checks_its_own_health_on_the_health_route(container):
    command = container["HealthCheck"]["Command"]
    assert command[0] == "CMD" and f"http://127.0.0.1:{CONTAINER_PORT}/health" in command[-1]


def test_container_logs_go_to_a_log_group_with_the_environments_retention(stacks, container, config):
    options = container["LogConfiguration"]
    assert options["LogDriver"] == "awslogs"
    group = options["Options"]["awslogs-group"]["Ref"]
    retention = resource(stacks.template, group)["Properties"]["RetentionInDays"]
    assert retention == config.environments["dev"].log_retention_days


def test_the_service_starts_after_its_image_exists_and_rolls_back_failed_deployments(stacks, parts, config, service):
    ecs_service = resource(stacks.template, parts.service)
    props = ecs_service["Properties"]
    assert props["LaunchType"] == "FARGATE"
    assert "DesiredCount" not in props  # a deploy must not reset what autoscaling chose
    assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert build_parts(stacks.template, config, "dev", service).image[0] in ecs_service["DependsOn"]


def test_the_load_balancer_checks_the_health_route_on_the_container_port(stacks, parts):
    props = resource(stacks.template, parts.target_group)["Properties"]
    assert (props["HealthCheckPath"], props["Matcher"], props["Port"]) == (
        "/health",
        {"HttpCode": "200"},
        CONTAINER_PORT,
    )
    assert props["TargetType"] == "ip"
    assert {"Key": "deregistration_delay.timeout_seconds", "Value": "30"} in props["TargetGroupAttributes"]
    assert resource(stacks.parent, parts.balancer)["Properties"]["Scheme"] == "internet-facing"


def test_the_rule_strips_the_services_path_before_the_container_sees_it(stacks, parts, config, service):
    """The container serves `/arch` as ever; the shared load balancer takes `/<path>/arch` and drops the prefix."""
    path = config.service(service).route_path
    transforms = resource(stacks.template, parts.rule)["Properties"]["Transforms"]
    assert transforms == [
        {
            "Type": "url-rewrite",
            "UrlRewriteConfig": {"Rewrites": [{"Regex": f"^{re.escape(path)}/?(.*)$", "Replace": "/$1"}]},
        }
    ]


def test_only_the_load_balancer_reaches_the_tasks(stacks, parts):
    """The tasks' group is the nested stack's own; the one rule admitting traffic names the load balancer's group,
    which is the environment's and reaches the nested stack as a parameter."""
    template = stacks.template
    service = resource(template, parts.service)
    (task_group,) = service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    group = task_group["Fn::GetAtt"][0]
    assert "SecurityGroupIngress" not in resource(template, group)["Properties"]
    # No output gives the group away, so no other template can add a rule to it.
    assert group not in json.dumps(template.to_json().get("Outputs", {}))
    ingress = template.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"GroupId": task_group}})
    assert len(ingress) == 1
    (rule,) = ingress.values()
    balancer = resource(stacks.parent, parts.balancer)
    assert [stacks.from_parent(rule["Properties"]["SourceSecurityGroupId"])] == balancer["Properties"]["SecurityGroups"]
    assert rule["Properties"]["FromPort"] == CONTAINER_PORT


def test_cpu_drives_the_task_count_between_the_configured_bounds(synthesized, config, service):
    for environment in ("dev", "prod"):
        settings = config.environments[environment]
        service_stacks, parts = service_parts(synthesized, config, environment, service)
        template, ecs_service = service_stacks.template, parts.service
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


def test_dev_runs_tasks_in_public_subnets_without_nat(synthesized, stacks, parts):
    dev = stacks.parent
    dev.resource_count_is("AWS::EC2::NatGateway", 0)
    for nested in nested_stacks(synthesized, "dev"):
        nested.template.resource_count_is("AWS::EC2::NatGateway", 0)
    network = resource(stacks.template, parts.service)["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "ENABLED"
    subnets = dev.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 2 and all(s["Properties"]["MapPublicIpOnLaunch"] for s in subnets.values())
    assert {stacks.parent_id(subnet) for subnet in network["Subnets"]} == set(subnets)


def test_prod_runs_tasks_in_private_subnets_behind_its_nat_gateways(synthesized, config, service):
    prod_stacks, prod_parts = service_parts(synthesized, config, "prod", service)
    prod = prod_stacks.parent
    prod.resource_count_is("AWS::EC2::NatGateway", config.environments["prod"].nat_gateways)
    for nested in nested_stacks(synthesized, "prod"):
        nested.template.resource_count_is("AWS::EC2::NatGateway", 0)
    ecs_service = resource(prod_stacks.template, prod_parts.service)
    network = ecs_service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    private = {
        name
        for name, s in prod.find_resources("AWS::EC2::Subnet").items()
        if not s["Properties"]["MapPublicIpOnLaunch"]
    }
    assert {prod_stacks.parent_id(subnet) for subnet in network["Subnets"]} == private


def test_the_vpc_logs_its_flows(dev):
    _, flow_log = one(dev, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log["Properties"]["TrafficType"] == "ALL"


def test_the_service_answers_over_https_under_its_path_after_the_ecs_base_url(dev, config, service):
    """Dev has no domain: CloudFront's HTTPS name in front of the shared load balancer, then the service's path."""
    assert config.environments["dev"].domain_name is None
    base = dev.to_json()["Outputs"][naming.base_url_output("ecs")]["Value"]
    (distribution,) = dev.find_resources("AWS::CloudFront::Distribution")
    assert base == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
    (endpoint,) = [e for e in config.endpoints("dev") if e.label == naming.endpoint_label(service, "ecs")]
    assert endpoint.url({naming.base_url_output("ecs"): "https://d1.cloudfront.net"}) == (
        f"https://d1.cloudfront.net{config.service(service).route_path}"
    )


def test_every_ecs_service_runs_on_the_environments_one_cluster(synthesized, config):
    """One cluster in the environment's stack and none in a nested one; each `ecs` service's nested stack has its one
    ECS service, on that cluster as its parameter."""
    for environment in ("dev", "prod"):
        template = synthesized.template(environment)
        (cluster,) = template.find_resources("AWS::ECS::Cluster")
        template.resource_count_is("AWS::ECS::Service", 0)
        clusters_used = []
        for name, stacks in stacks_by_service(synthesized, config, environment).items():
            stacks.template.resource_count_is("AWS::ECS::Cluster", 0)
            services = stacks.template.find_resources("AWS::ECS::Service").values()
            assert len(services) == (1 if "ecs" in config.service(name).targets else 0), (environment, name)
            clusters_used += [stacks.from_parent(s["Properties"]["Cluster"]) for s in services]
        assert len(clusters_used) == len(synthesized_services("ecs"))
        assert all(used == {"Ref": cluster} for used in clusters_used)


def test_one_load_balancer_has_a_rule_and_a_target_group_per_ecs_service_at_its_configured_priority(
    synthesized, config
):
    ecs_services = [s for s in config.services if "ecs" in s.targets]
    priorities = config.rule_priorities()
    assert len(set(priorities.values())) == len(ecs_services)
    for environment in ("dev", "prod"):
        template = synthesized.template(environment)
        (balancer,) = template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
        template.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", 0)
        template.resource_count_is("AWS::ElasticLoadBalancingV2::TargetGroup", 0)
        for name, stacks in stacks_by_service(synthesized, config, environment).items():
            expected = 1 if "ecs" in config.service(name).targets else 0
            stacks.template.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 0)
            stacks.template.resource_count_is("AWS::ElasticLoadBalancingV2::ListenerRule", expected)
            stacks.template.resource_count_is("AWS::ElasticLoadBalancingV2::TargetGroup", expected)
        for service in ecs_services:
            stacks, parts = service_parts(synthesized, config, environment, service.name)
            # The rule is on a listener of the environment's one load balancer, given as a parameter.
            assert parts.balancer == balancer
            rule = resource(stacks.template, parts.rule)["Properties"]
            assert rule["Priority"] == priorities[service.name]


def test_without_a_domain_the_load_balancer_admits_only_cloudfront_with_the_secret_header(synthesized, dev, config):
    """Dev: the load balancer's group admits only CloudFront's origin-facing prefix list, on 80, with no rule per
    service, in the environment's stack or any nested one (where the group's id would arrive as a parameter); every
    service's rule also asks for the header CloudFront adds, its value a Secrets Manager reference."""
    assert config.environments["dev"].domain_name is None
    (balancer,) = dev.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    ((group_ref,),) = [[g["Fn::GetAtt"][0] for g in balancer["Properties"]["SecurityGroups"]]]
    group_id = {"Fn::GetAtt": [group_ref, "GroupId"]}
    inline = resource(dev, group_ref)["Properties"].get("SecurityGroupIngress", [])
    separate = dev.find_resources("AWS::EC2::SecurityGroupIngress", {"Properties": {"GroupId": group_id}})
    (ingress,) = [*inline, *(r["Properties"] for r in separate.values())]
    assert (ingress["FromPort"], ingress["ToPort"]) == (80, 80)
    assert "SourcePrefixListId" in ingress and "CidrIp" not in ingress
    assert not dev.find_resources("AWS::EC2::SecurityGroupEgress", {"Properties": {"GroupId": group_id}})
    for name, stacks in stacks_by_service(synthesized, config, "dev").items():
        for kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            for group_rule in stacks.template.find_resources(kind).values():
                opened = stacks.from_parent(group_rule["Properties"]["GroupId"])
                assert group_ref not in json.dumps(opened), (name, kind)
    for service in (s for s in config.services if "ecs" in s.targets):
        stacks = synthesized.service("dev", service.name)
        rule = resource(stacks.template, fargate_parts(stacks, service).rule)["Properties"]
        (header,) = [c for c in rule["Conditions"] if c["Field"] == "http-header"]
        value = json.dumps(header["HttpHeaderConfig"]["Values"])
        assert "{{resolve:secretsmanager:" in value, service.name
