"""SharedLoadBalancer in small stacks of its own: HTTPS only, behind CloudFront or on a domain, one rule and target
group per service."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template
from support import public_vpc

from constructs import Construct
from graviton.workloads.shared_load_balancer import (
    CLOUDFRONT_ORIGIN_FACING,
    ORIGIN_HEADER,
    SharedLoadBalancer,
    strip_prefix_transform,
)

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
ZONE = "Z0123456789ABCDEFGHIJ"
ON_DOMAIN = {"domain_name": "example.com", "certificate_arn": CERTIFICATE, "hosted_zone_id": ZONE}
# service -> (path, host, priority)
PATH_ROUTES = {"web": ("/web", None, 10), "shop": ("/shop.v2", None, 20)}
HOST_ROUTES = {"web": (None, "web", 10), "shop": ("/shop", None, 20)}


def front_stack(routes: dict, *, nag_outdir: Path | None = None, **props) -> Template | None:
    """A VPC, a cluster, the shared load balancer and one Fargate service per route; with `nag_outdir`, synthesized
    there with cdk-nag's AwsSolutions checks (its findings fail synth: the report stays in `nag_outdir`)."""
    app = cdk.App(outdir=str(nag_outdir)) if nag_outdir else cdk.App()
    stack = cdk.Stack(app, "Front")
    vpc = public_vpc(stack)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    front = SharedLoadBalancer(stack, "Shared", vpc=vpc, **props)
    for name, (path, host, priority) in routes.items():
        scope = Construct(stack, name)
        task = ecs.FargateTaskDefinition(scope, "Task")
        task.add_container(
            "Container",
            image=ecs.ContainerImage.from_registry("example"),
            port_mappings=[ecs.PortMapping(container_port=8080)],
        )
        service = ecs.FargateService(scope, "Service", cluster=cluster, task_definition=task, assign_public_ip=True)
        front.add_service(
            scope, service=service, port=8080, health_path="/health", priority=priority, path=path, host=host
        )
    if nag_outdir:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        with contextlib.suppress(RuntimeError):  # the VPC's and the sample tasks' findings
            app.synth()
        return None
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def behind_cloudfront() -> Template:
    template = front_stack(PATH_ROUTES)
    assert template is not None
    return template


@pytest.fixture(scope="module")
def on_domain() -> Template:
    template = front_stack(HOST_ROUTES, **ON_DOMAIN)
    assert template is not None
    return template


def rules(template: Template) -> list[dict]:
    return [r["Properties"] for r in template.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()]


def listeners(template: Template) -> dict[int, dict]:
    found = template.find_resources("AWS::ElasticLoadBalancingV2::Listener").values()
    return {listener["Properties"]["Port"]: listener["Properties"] for listener in found}


def test_one_load_balancer_with_a_rule_and_a_target_group_per_service(behind_cloudfront):
    behind_cloudfront.resource_count_is("AWS::ElasticLoadBalancingV2::LoadBalancer", 1)
    behind_cloudfront.resource_count_is("AWS::ElasticLoadBalancingV2::TargetGroup", len(PATH_ROUTES))
    assert sorted(rule["Priority"] for rule in rules(behind_cloudfront)) == sorted(
        p for _, _, p in PATH_ROUTES.values()
    )
    for group in behind_cloudfront.find_resources("AWS::ElasticLoadBalancingV2::TargetGroup").values():
        props = group["Properties"]
        assert (props["Port"], props["TargetType"], props["HealthCheckPath"]) == (8080, "ip", "/health")


def test_each_rule_takes_its_paths_and_the_origin_header_and_strips_its_prefix(behind_cloudfront):
    by_path = {}
    for rule in rules(behind_cloudfront):
        conditions = {c["Field"]: c for c in rule["Conditions"]}
        by_path[conditions["path-pattern"]["PathPatternConfig"]["Values"][0]] = rule
        header = conditions["http-header"]["HttpHeaderConfig"]
        assert header["HttpHeaderName"] == ORIGIN_HEADER
        assert "{{resolve:secretsmanager:" in str(header["Values"]), "a dynamic reference, never the value"
    for path, _, _ in PATH_ROUTES.values():
        rule = by_path[path]
        paths = next(c for c in rule["Conditions"] if c["Field"] == "path-pattern")["PathPatternConfig"]["Values"]
        assert paths == [path, f"{path}/*"]
        assert rule["Transforms"] == [strip_prefix_transform(path)]


def test_the_service_waits_for_its_rule(behind_cloudfront):
    rule_ids = set(behind_cloudfront.find_resources("AWS::ElasticLoadBalancingV2::ListenerRule"))
    for service in behind_cloudfront.find_resources("AWS::ECS::Service").values():
        assert rule_ids & set(service.get("DependsOn", []))


def test_behind_cloudfront_the_load_balancer_admits_only_cloudfront_on_one_port(behind_cloudfront):
    groups = behind_cloudfront.find_resources("AWS::EC2::SecurityGroup")
    (group_id,) = [i for i, g in groups.items() if "shared load balancer" in g["Properties"]["GroupDescription"]]
    assert "SecurityGroupIngress" not in groups[group_id]["Properties"]
    (ingress,) = [
        rule["Properties"]
        for rule in behind_cloudfront.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert (ingress["FromPort"], ingress["ToPort"]) == (80, 80)
    assert "Fn::GetAtt" in ingress["SourcePrefixListId"] and "CidrIp" not in ingress
    # One outbound rule for every service, not one per service's task group (a group holds 60).
    assert len(groups[group_id]["Properties"]["SecurityGroupEgress"]) == 1
    behind_cloudfront.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)
    lookups = behind_cloudfront.find_resources("Custom::AWS")
    assert CLOUDFRONT_ORIGIN_FACING in str(lookups) and "describeManagedPrefixLists" in str(lookups)


def test_behind_cloudfront_https_reaches_the_load_balancer_over_http_with_the_secret_header(behind_cloudfront):
    (distribution,) = behind_cloudfront.find_resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    (origin,) = config["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "http-only"
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_HEADER
    assert "{{resolve:secretsmanager:" in str(header["HeaderValue"])
    (listener,) = listeners(behind_cloudfront).values()
    assert listener["Protocol"] == "HTTP"
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "403"


def test_on_a_domain_https_with_tls_1_2_and_up_and_http_only_redirects(on_domain):
    found = listeners(on_domain)
    assert set(found) == {80, 443}
    https = found[443]
    assert https["Protocol"] == "HTTPS" and https["Certificates"] == [{"CertificateArn": CERTIFICATE}]
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    redirect = found[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert (redirect["RedirectConfig"]["Protocol"], redirect["RedirectConfig"]["StatusCode"]) == ("HTTPS", "HTTP_301")
    on_domain.resource_count_is("AWS::CloudFront::Distribution", 0)
    on_domain.resource_count_is("AWS::SecretsManager::Secret", 0)


def test_on_a_domain_a_host_routed_service_keeps_its_path(on_domain):
    by_field = {}
    for rule in rules(on_domain):
        for condition in rule["Conditions"]:
            by_field.setdefault(condition["Field"], []).append((condition, rule))
    ((host, host_rule),) = by_field["host-header"]
    assert host["HostHeaderConfig"]["Values"] == ["web.example.com"]
    assert "Transforms" not in host_rule
    ((_, path_rule),) = by_field["path-pattern"]
    assert path_rule["Transforms"] == [strip_prefix_transform("/shop")]
    assert "http-header" not in by_field


def test_on_a_domain_with_its_zone_the_domain_and_every_subdomain_point_at_the_load_balancer(on_domain):
    (load_balancer_id,) = on_domain.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
    records = [r["Properties"] for r in on_domain.find_resources("AWS::Route53::RecordSet").values()]
    assert sorted((r["Name"], r["Type"], r["HostedZoneId"]) for r in records) == [
        ("*.example.com.", "A", ZONE),
        ("example.com.", "A", ZONE),
    ]
    for record in records:
        alias = record["AliasTarget"]
        assert alias["HostedZoneId"] == {"Fn::GetAtt": [load_balancer_id, "CanonicalHostedZoneID"]}
        assert {"Fn::GetAtt": [load_balancer_id, "DNSName"]} in alias["DNSName"]["Fn::Join"][1]
    # A records only while the load balancer is IPv4 (a dualstack one would need AAAA records too).
    (load_balancer,) = on_domain.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert load_balancer["Properties"].get("IpAddressType", "ipv4") == "ipv4"


def test_no_records_without_the_zone():
    template = front_stack({}, domain_name="example.com", certificate_arn=CERTIFICATE)
    assert template is not None
    template.resource_count_is("AWS::Route53::RecordSet", 0)


def test_the_prefix_transform_strips_exactly_the_prefix():
    import re

    for path, request, expected in (
        ("/web", "/web/arch", "/arch"),
        ("/web", "/web", "/"),
        ("/shop.v2", "/shop.v2/x", "/x"),
    ):
        (rewrite,) = strip_prefix_transform(path)["UrlRewriteConfig"]["Rewrites"]
        assert re.sub(rewrite["Regex"], rewrite["Replace"].replace("$1", r"\1"), request) == expected
    (rewrite,) = strip_prefix_transform("/shop.v2")["UrlRewriteConfig"]["Rewrites"]
    assert not re.match(rewrite["Regex"], "/shopXv2/x")


def test_refuses_host_routing_without_a_domain_half_a_domain_and_a_zone_without_one():
    with pytest.raises(ValueError, match="host routing needs the load balancer's domain_name"):
        front_stack({"web": (None, "web", 1)})
    with pytest.raises(ValueError, match="domain_name and certificate_arn go together"):
        front_stack({}, domain_name="example.com")
    with pytest.raises(ValueError, match=f"hosted_zone_id '{ZONE}' needs domain_name"):
        front_stack({}, hosted_zone_id=ZONE)


@pytest.mark.parametrize("props", [{}, ON_DOMAIN])
def test_cdk_nag_finds_nothing_unacknowledged_in_the_front_door(props, tmp_path):
    """The shared parts (load balancer, CloudFront, secret, prefix-list lookup, DNS records) answer every AwsSolutions finding;
    the stack's own VPC and sample tasks are not the construct's."""
    front_stack(PATH_ROUTES if not props else HOST_ROUTES, nag_outdir=tmp_path, **props)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (nag,) = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]
    found = [
        (violation["ruleName"], where["constructPath"])
        for violation in nag["violations"]
        for where in violation["violatingConstructs"]
    ]
    assert ("AwsSolutions-VPC7", "Front/Vpc/Resource") in found, "the checks ran"
    assert [f for f in found if "/Shared/" in f[1] or "AWS679f53fac002430cb0da5b7982bd2287" in f[1]] == []


@pytest.mark.parametrize("front", ["behind_cloudfront", "on_domain"])
def test_the_load_balancer_drops_requests_with_invalid_header_fields(front, request):
    template: Template = request.getfixturevalue(front)
    (load_balancer,) = template.find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in load_balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_the_prefix_list_lookup_runs_after_its_functions_log_group_exists(synthesized):
    """The log group is named after the function (CDK makes it with `useCdkManagedLogGroup`, on in cdk.json): without
    the dependency the lookup can run first, Lambda creates the group, and the group's create fails as already
    there."""
    resources = synthesized.template_dict("dev")["Resources"]
    (lookup,) = [r for r in resources.values() if r["Type"] == "Custom::AWS"]
    function = lookup["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    named_after_function = json.dumps(["/aws/lambda/", {"Ref": function}])
    (group,) = [
        logical_id
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Logs::LogGroup"
        and named_after_function in json.dumps(r["Properties"].get("LogGroupName"))
    ]
    assert group in lookup["DependsOn"]
