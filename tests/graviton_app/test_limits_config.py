"""The AWS limits and the routing settings: a configuration one environment's load balancer or HTTP API could not
take is refused while loading, in one line naming the key, the value and what is allowed."""

from __future__ import annotations

import json
import sys

import pytest
from support import ROOT, error_for, run, with_change

from graviton_app import limits, naming
from graviton_app.config import load_config
from graviton_app.props import EnvironmentProps

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"


def _services(count: int, targets: list[str], **settings) -> list[dict]:
    """`count` services built from the web sample's folder, named `svc-<i>`; on ecs each with a rule priority of its
    own (some of these names ask for the same one)."""
    folder, dockerfile = ("api", "Dockerfile.lambda") if targets == ["lambda"] else ("web", "Dockerfile")
    route = (lambda i: {"route": {"priority": 10_000 + i}}) if "ecs" in targets else (lambda i: {})
    return [
        {"name": f"svc-{i}", "folder": folder, "dockerfile": dockerfile, "targets": targets, **route(i), **settings}
        for i in range(count)
    ]


def _with_domain(context: dict) -> None:
    for settings in context["environments"].values():
        settings.update(domain_name="example.com", certificate_arn=CERTIFICATE)


def _service(context: dict, name: str) -> dict:
    return next(s for s in context["services"] if s["name"] == name)


def _ecs_service(context: dict) -> dict:
    return next(s for s in context["services"] if "ecs" in s["targets"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c.update(services=_services(limits.ECS_SERVICES_PER_ENVIRONMENT + 1, ["ecs"])),
            "'services' = <list> is not allowed: 101 services target ecs, each with a target group and a rule on the"
            " environment's one load balancer; allowed: at most 100 target groups per Application Load Balancer"
            " (AWS limit, not adjustable)",
        ),
        (
            lambda c: c.update(services=_services(limits.SERVICES_PER_ENVIRONMENT + 1, ["lambda"])),
            "'services' = <list> is not allowed: 201 services; allowed: at most 200 per environment",
        ),
        (
            lambda c: c["environments"]["prod"].update(alb_targets_quota=1),
            "'environments.prod.alb_targets_quota' = 1 is not allowed: the ECS services' ecs_max_tasks add up to",
        ),
        (
            lambda c: c.update(services=_services(100, ["ecs"], ecs_max_tasks=11)),
            "'environments.dev.alb_targets_quota' = 1000 is not allowed: the ECS services' ecs_max_tasks add up to"
            " 1,100 in dev",
        ),
        (
            lambda c: _ecs_service(c).update(route={"host": "web"}),
            'route.host\' = "web" is not allowed: environments.dev has no domain_name, and a host name needs one in'
            " every environment",
        ),
        (
            lambda c: (_with_domain(c), _service(c, "api").update(route={"host": "api"})),
            "'services[0].route.host' = \"api\" is not allowed: host routing is for the ecs target",
        ),
        (
            lambda c: c.update(services=_services(2, ["ecs"], route={"path": "/same"})),
            "'services[1].route.path' = \"/same\" is not allowed: overlaps services[0]'s path '/same'",
        ),
        (
            lambda c: _ecs_service(c).update(route={"path": "/api/v2"}),
            "route.path' = \"/api/v2\" is not allowed: overlaps services[0]'s path '/api'",
        ),
        (
            lambda c: (_with_domain(c), c.update(services=_services(2, ["ecs"], route={"host": "same"}))),
            "'services[1].route.host' = \"same\" is not allowed: services[0] has it too; hosts are unique",
        ),
        (
            lambda c: c.update(services=_services(2, ["ecs"], route={"priority": 7})),
            "'services[1].route.priority' = 7 is not allowed: services[0] has this listener rule priority too"
            " (services[1] has it); allowed: a route.priority no other service has",
        ),
        (
            lambda c: _ecs_service(c).update(route={"path": "/web/*"}),
            "route.path' = \"/web/*\" is not allowed: must be a path prefix such as '/web'",
        ),
        (
            lambda c: _ecs_service(c).update(route={"path": "/" + "a" * 100}),
            "is not allowed: is 101 characters; allowed: at most 100, so '<path>/*' fits a load balancer path"
            " pattern (at most 128 characters in a path-pattern condition value (AWS limit, not adjustable))",
        ),
        (
            lambda c: _ecs_service(c).update(route={"path": "/web", "host": "web"}),
            "'path' and 'host' are exclusive",
        ),
        (
            lambda c: c["environments"]["dev"].update(domain_name="example.com"),
            "'domain_name' and 'certificate_arn' go together",
        ),
        (
            lambda c: c["environments"]["dev"].update(hosted_zone_id="Z0123456789ABC"),
            "'hosted_zone_id' = \"Z0123456789ABC\" needs 'domain_name' and 'certificate_arn': its records point the"
            " domain at the load balancer; set both, or remove hosted_zone_id",
        ),
        (
            lambda c: c["environments"]["dev"].update(
                account="123456789012", region="us-east-1", domain_name="example.com", certificate_arn=CERTIFICATE
            ),
            "certificate_arn is in eu-west-1; the load balancer takes a certificate of its own region only (us-east-1)",
        ),
        (
            lambda c: c["environments"]["dev"].update(certificate_arn="arn:aws:iam::123456789012:role/x"),
            "'environments.dev.certificate_arn' = \"arn:aws:iam::123456789012:role/x\" is not allowed: must be an ACM"
            " certificate ARN",
        ),
        (
            lambda c: c["services"][0].update(targets=["eks"], dockerfile="Dockerfile.lambda", route={"path": "/x"}),
            "'services[0].route' = <dict> is not allowed: applies to the 'lambda' and 'ecs' targets only",
        ),
    ],
)
def test_limits_and_routes_are_refused_in_one_line_naming_key_value_and_what_is_allowed(change, expected):
    assert expected in error_for(change)


def test_the_limits_allow_what_they_name():
    """At each limit, not over it: 100 ECS services and 100 Lambda services, 200 in all, with a domain for hosts."""
    services = _services(100, ["ecs"], route={"host": "x"})
    for i, service in enumerate(services):
        service["route"] = {"host": f"svc-{i}", "priority": 10_000 + i}
    services += [{**s, "name": f"fn-{i}"} for i, s in enumerate(_services(100, ["lambda"]))]

    def change(context: dict) -> None:
        _with_domain(context)
        context["services"] = services

    config = load_config(with_change(change), root=ROOT)
    assert len(config.services) == limits.SERVICES_PER_ENVIRONMENT
    assert config.services[0].route.host == "svc-0"
    assert config.services[100].route_path == "/fn-0"


def test_a_service_routes_under_its_name_unless_it_says_otherwise():
    def change(context: dict) -> None:
        _ecs_service(context)["route"] = {"path": "/front", "priority": 42}

    config = load_config(with_change(change), root=ROOT)
    for service in config.services:
        routed = with_change(change)
        own = next(s for s in routed["services"] if s["name"] == service.name).get("route", {})
        assert service.route_path == own.get("path", f"/{service.name}")
        if "ecs" in service.targets:
            wanted = own.get("priority", naming.default_rule_priority(service.name))
            assert config.rule_priorities()[service.name] == wanted


def test_each_environments_zone_reaches_its_load_balancer():
    def change(context: dict) -> None:
        _with_domain(context)
        for i, settings in enumerate(context["environments"].values()):
            settings["hosted_zone_id"] = f"Z0123456789ABC{i}"

    config = load_config(with_change(change), root=ROOT)
    for environment, settings in config.environments.items():
        front_door = EnvironmentProps(config, environment, ROOT).shared_load_balancer()
        assert front_door["hosted_zone_id"] == settings.hosted_zone_id
        assert front_door["domain_name"] == settings.domain_name


def colliding_names(count: int) -> tuple[str, str]:
    """Two service names among `svc-0` ... that ask for the same listener rule priority."""
    seen: dict[int, str] = {}
    for name in (f"svc-{i}" for i in range(count)):
        priority = naming.default_rule_priority(name)
        if priority in seen:
            return seen[priority], name
        seen[priority] = name
    raise AssertionError(f"no two of {count} names share a priority")


def test_rule_priorities_come_from_the_names_whatever_the_order():
    names = [f"svc-{i}" for i in range(10)]
    priorities = naming.rule_priorities(dict.fromkeys(names))
    assert priorities == {name: naming.default_rule_priority(name) for name in names}
    assert all(1 <= p <= limits.ALB_RULE_PRIORITY.value for p in priorities.values())
    assert naming.rule_priorities(dict.fromkeys(reversed(names))) == priorities
    assert naming.rule_priorities({"svc-0": 7})["svc-0"] == 7
    assert naming.service_url("https://d1.cloudfront.net/", "/web") == "https://d1.cloudfront.net/web"


def test_two_ecs_services_asking_for_the_same_rule_priority_are_refused_in_one_line():
    """Resolving it silently would move a rule when the other service comes or goes, and a rule cannot take a
    priority the other's still holds during the update."""
    first, second = colliding_names(limits.ECS_SERVICES_PER_ENVIRONMENT)

    def change(context: dict) -> None:
        template = _ecs_service(context)
        context["services"] = [dict(template, name=first), dict(template, name=second)]

    message = error_for(change)
    priority = naming.default_rule_priority(first)
    assert f"'services[1].route.priority' = {priority} is not allowed" in message
    assert "services[0] has this listener rule priority too" in message and "route.priority" in message


def test_new_service_writes_a_free_priority_when_its_names_own_is_taken(tmp_path):
    from scaffolding import repository_copy, scaffold

    root = repository_copy(tmp_path)
    taken = load_config(json.loads((root / "cdk.json").read_text())["context"], root=root).rule_priorities()
    owner = next(iter(taken))
    name = next(f"svc-{i}" for i in range(10**6) if naming.default_rule_priority(f"svc-{i}") == taken[owner])
    scaffold(root, {name: "ecs"})
    context = json.loads((root / "cdk.json").read_text())["context"]
    entry = next(s for s in context["services"] if s["name"] == name)
    config = load_config(context, root=root)
    assert entry["route"]["priority"] == naming.free_rule_priority(name, set(taken.values())) != taken[owner]
    assert config.rule_priorities()[owner] == taken[owner]  # the existing rule does not move


def test_every_limit_names_its_source():
    for limit in (value for value in vars(limits).values() if isinstance(value, limits.Limit)):
        assert limit.source.startswith("https://docs.aws.amazon.com/"), limit


def test_app_py_refuses_a_limit_in_one_line_before_aws_cdk_lib_loads():
    context = with_change(lambda c: c.update(services=_services(101, ["ecs"])))
    probe = (
        "import runpy, sys\n"
        "try:\n"
        "    runpy.run_path('app.py', run_name='__main__')\n"
        "finally:\n"
        "    print('aws_cdk loaded' if 'aws_cdk' in sys.modules else 'aws_cdk not loaded', file=sys.stderr)\n"
    )
    result = run([sys.executable, "-c", probe], env={"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/tmp"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [
        line for line in result.stderr.splitlines() if line.strip() and "!!" not in line and "warning:" not in line
    ]
    assert sorted(lines) == sorted(
        [
            "-c services: 'services' = <list> is not allowed: 101 services target ecs, each with a target group and a"
            " rule on the environment's one load balancer; allowed: at most 100 target groups per Application Load"
            " Balancer (AWS limit, not adjustable)",
            "aws_cdk not loaded",
        ]
    ), result.stderr


def test_each_endpoint_is_its_path_under_its_targets_base_url_or_its_host_on_the_domain():
    """What `make verify` and the pipeline's endpoint-only step ask: every HTTP target of every service, over HTTPS."""

    def change(context: dict) -> None:
        _with_domain(context)
        _ecs_service(context)["route"] = {"host": "front"}

    config = load_config(with_change(change), root=ROOT)
    host_routed = _ecs_service(with_change(change))["name"]
    outputs = {"LambdaBaseUrl": "https://a1.execute-api.eu-west-1.amazonaws.com", "EcsBaseUrl": "https://example.com"}
    found = {endpoint.label: endpoint for endpoint in config.endpoints("dev")}
    wanted = {f"{s.name}/{t}" for s in config.services for t in s.targets if t in ("lambda", "ecs")}
    assert set(found) == wanted
    for service in config.services:
        for target in ("lambda", "ecs"):
            if target not in service.targets:
                continue
            endpoint = found[f"{service.name}/{target}"]
            if target == "ecs" and service.name == host_routed:
                assert endpoint.url(outputs) == endpoint.shell_url() == "https://front.example.com"
            else:
                base = naming.base_url_output(target)
                assert endpoint.url(outputs) == outputs[base] + service.route_path
                variable = f"{target.upper()}_BASE_URL"
                assert endpoint.shell_url() == f"${{{variable}}}{service.route_path}"
    assert found[f"{host_routed}/ecs"].url({}) == "https://front.example.com"
    assert all(e.url({}) is None for e in found.values() if not e.fixed_url)


def test_adopting_the_repositories_reaches_them_in_that_environment_only():
    def change(context: dict) -> None:
        context["environments"]["dev"]["adopt_repositories"] = True

    config = load_config(with_change(change), root=ROOT)
    service = config.services[0]
    assert EnvironmentProps(config, "dev", ROOT).repository(service)["adopting"] is True
    assert (
        EnvironmentProps(load_config(with_change(lambda c: None), root=ROOT), "dev", ROOT).repository(service)[
            "adopting"
        ]
        is False
    )
