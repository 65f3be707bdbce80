"""Helpers the tests share: the repo root, the real app's synthesis, running commands as a user would."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from scaffolding import generated_service, repository_copy, scaffold

import app as cdk_app
from graviton_app import naming
from graviton_app.config import AppConfig, ConfigError, ServiceConfig, load_config

ROOT = Path(__file__).resolve().parents[1]


def repo_context() -> dict:
    """The context cdk.json gives the app."""
    return json.loads((ROOT / "cdk.json").read_text())["context"]


# One service per target beside cdk.json's own, each scaffolded by `make new-service`'s own code: the synthesized app's
# tests assert on every service of its configuration, so each target's assertions also run for a service no sample
# names, and the scaffold's output is synthesized, guarded and nag-checked with the rest (one synth for both).
GENERATED = {"generated-lambda": "lambda", "generated-ecs": "ecs", "generated-eks": "eks"}


@dataclass(frozen=True)
class Configuration:
    """A context for the app and the repository root its docker/ folders are in."""

    context: dict
    root: Path


def with_generated_context(context: dict | None = None) -> dict:
    """`context` (cdk.json's by default) with the GENERATED services added. An `eks` service runs only where there is
    a cluster: when no environment has one, the first environment gets it."""
    context = json.loads(json.dumps(context or repo_context()))
    context["services"] += [generated_service(name, target) for name, target in GENERATED.items()]
    context["eks"] = context.get("eks") or list(context["environments"])[:1]
    return context


def with_generated_services(root: Path) -> Configuration:
    """`root` made into a copy of the repository (its own service folders linked) where `make new-service` added the
    GENERATED services; the context is that copy's cdk.json, with an EKS cluster as `with_generated_context` says."""
    scaffold(repository_copy(root), GENERATED)
    context = with_generated_context()
    written = json.loads((root / "cdk.json").read_text())["context"]
    assert written["services"] == context["services"], "make new-service wrote what generated_service says"
    return Configuration(context=context, root=root)


def synthesized_services(target: str | None = None) -> list[str]:
    """The services `synthesized` is built with (cdk.json's and the generated ones), those on `target` if given:
    known when tests are collected, to parametrize them by."""
    services = with_generated_context()["services"]
    return [s["name"] for s in services if target is None or target in s["targets"]]


# What `-c` (or cdk.json) gives PipelineStack in the pipeline tests.
PIPELINE_SETTINGS = {
    "pipeline_connection_arn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-4e5f",
    "pipeline_repository": "acme/graviton-guarantee",
    "pipeline_branch": "release",
    "pipeline_file_paths": ["docker/**", "stacks/**", "constructs/**"],
}


def pipeline_context(**overrides) -> dict:
    """cdk.json's context with the pipeline settings: the app then composes PipelineStack too."""
    return {**repo_context(), **PIPELINE_SETTINGS, **overrides}


@dataclass
class Synthesized:
    app: cdk.App
    stacks: dict[str, cdk.Stack]
    outdir: Path
    error: Exception | None
    config: AppConfig

    def template(self, environment: str) -> Template:
        stack = self.stacks[environment]
        return Template.from_json(json.loads((self.outdir / stack.template_file).read_text()))

    def template_dict(self, environment: str) -> dict:
        return json.loads((self.outdir / self.stacks[environment].template_file).read_text())

    def stack_template(self, stack: cdk.Stack) -> dict:
        """Any stack's synthesized template, nested stages' stacks included."""
        return json.loads((Path(cdk.Stage.of(stack).outdir) / stack.template_file).read_text())

    def service(self, environment: str, service: str) -> ServiceStackTemplates:
        """A service's nested stack in an environment, with its environment's template (cached: templates are read
        once per session)."""
        return _service_templates(self, environment, service)

    def services(self, environment: str) -> list[ServiceStackTemplates]:
        """Every service's nested stack in an environment, in the configuration's order."""
        return [self.service(environment, s.name) for s in self.config.services]


@dataclass(eq=False)
class ServiceStackTemplates:
    """A service's nested stack (`template`, or its JSON `document`), the environment's stack it is nested in
    (`parent`, `parent_document`) and the `AWS::CloudFormation::Stack` resource that nests it there (`resource`:
    logical id and definition). The `Template`s are made on first use: each is a copy in aws-cdk-lib's Node process."""

    document: dict
    parent_document: dict
    resource: tuple[str, dict]

    @functools.cached_property
    def template(self) -> Template:
        return Template.from_json(self.document)

    @property
    def parent(self) -> Template:
        return _parent_template(id(self.parent_document), self.parent_document)

    @property
    def parameters(self) -> dict[str, Any]:
        """What the parent passes the nested stack: parameter name -> the parent's value for it."""
        return self.resource[1]["Properties"].get("Parameters", {})

    def resources(self) -> dict[str, dict]:
        return self.document["Resources"]

    def from_parent(self, value: Any) -> Any:
        """A value in the nested template as the parent gives it: `{"Ref": <parameter>}` becomes the parent's
        `{"Ref": ...}` or `{"Fn::GetAtt": [...]}`; anything else is returned as it is."""
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in self.parameters:
            return self.parameters[value["Ref"]]
        return value

    def parent_id(self, value: Any) -> str:
        """The logical id of the parent resource that `value` (a parameter reference in the nested template) comes
        from."""
        given = self.from_parent(value)
        assert isinstance(given, dict) and set(given) & {"Ref", "Fn::GetAtt"}, f"{value} does not come from the parent"
        return given["Ref"] if "Ref" in given else given["Fn::GetAtt"][0]


_SERVICE_TEMPLATES: dict[tuple[int, str, str], ServiceStackTemplates] = {}
_PARENT_TEMPLATES: dict[int, Template] = {}


def _parent_template(key: int, document: dict) -> Template:
    """One `Template` per environment's stack, shared by its services' views (`key`: the document's id, which the
    views keep alive)."""
    if key not in _PARENT_TEMPLATES:
        _PARENT_TEMPLATES[key] = Template.from_json(document)
    return _PARENT_TEMPLATES[key]


def _service_templates(synthesized: Synthesized, environment: str, service: str) -> ServiceStackTemplates:
    key = (id(synthesized), environment, service)
    if key not in _SERVICE_TEMPLATES:
        environment_stack = synthesized.stacks[environment]
        nested = environment_stack.services[service]  # type: ignore[attr-defined]
        parent_key = (id(synthesized), environment, "")
        if parent_key not in _SERVICE_TEMPLATES:  # the parent's document, read once per environment
            _SERVICE_TEMPLATES[parent_key] = ServiceStackTemplates({}, synthesized.template_dict(environment), ("", {}))
        parent = _SERVICE_TEMPLATES[parent_key].parent_document
        resource_id = environment_stack.resolve(nested.nested_stack_resource.logical_id)
        _SERVICE_TEMPLATES[key] = ServiceStackTemplates(
            document=json.loads((synthesized.outdir / nested.template_file).read_text()),
            parent_document=parent,
            resource=(resource_id, parent["Resources"][resource_id]),
        )
    return _SERVICE_TEMPLATES[key]


def synthesize(context: dict, outdir: Path, *, root: Path = ROOT) -> Synthesized:
    """Compose the app exactly as app.py does and synthesize it, keeping a validation failure to assert on. `root`:
    the repository root the services' docker/ folders are in."""
    app = cdk_app.new_app(context, outdir=str(outdir))
    config = cdk_app.settings(app.node.get_all_context(), root=root)
    stacks = cdk_app.compose(app, config, root=root)
    try:
        app.synth()
        error = None
    except RuntimeError as err:  # cdk-nag's findings fail synth with a RuntimeError
        error = err
    return Synthesized(app=app, stacks=stacks, outdir=outdir, error=error, config=config)


def fake_on_path(folder: Path, name: str, script: str, *, log: Path) -> dict[str, str]:
    """An executable `name` (the shell `script`) in `folder/bin`, first on PATH: the environment a command runs with
    to meet it instead of the real tool; the script may write what it was given to `$FAKE_<NAME>_LOG` (`log`)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / name
    program.write_text(script)
    program.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", f"FAKE_{name.upper()}_LOG": str(log)}


def run(args: list[str], *, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a command the way a user would, with the venv and the pinned Node first on PATH."""
    full_env = {**os.environ, **(env or {})}
    full_env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:{full_env['PATH']}"
    return subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)


def one(template: Template, resource_type: str, props: dict | None = None) -> tuple[str, dict]:
    """The single resource of a type (with these properties): its logical id and its definition."""
    found = template.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return next(iter(found.items()))


def arn_text(value: Any) -> str:
    """An ARN a template builds from strings and pseudo parameters, as text: `{"Ref": "AWS::Region"}` reads
    `${AWS::Region}`. Anything else in it (a resource's or a parameter's value) is refused: such an ARN is no
    name pattern."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"].startswith("AWS::"):
        return f"${{{value['Ref']}}}"
    if isinstance(value, dict) and set(value) == {"Fn::Join"} and value["Fn::Join"][0] == "":
        return "".join(arn_text(part) for part in value["Fn::Join"][1])
    raise AssertionError(f"{value} is not made of strings and pseudo parameters")


def referenced_ids(value: Any) -> set[str]:
    """The logical ids of the resources and parameters `value` refers to (`Ref`, `Fn::GetAtt`), pseudo parameters
    left out."""
    if isinstance(value, list):
        return {i for item in value for i in referenced_ids(item)}
    if not isinstance(value, dict):
        return set()
    found = {i for item in value.values() for i in referenced_ids(item)}
    if isinstance(value.get("Ref"), str) and not value["Ref"].startswith("AWS::"):
        found.add(value["Ref"])
    if isinstance(value.get("Fn::GetAtt"), list):
        found.add(value["Fn::GetAtt"][0])
    return found


def lifecycle_rules(repository: dict) -> list[dict]:
    """An AWS::ECR::Repository's lifecycle rules, by priority."""
    rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    return sorted(rules, key=lambda rule: rule["rulePriority"])


def rule_selects(rule: dict, tags: list[str]) -> bool:
    """Whether an ECR lifecycle rule's selection takes an image with these tags: ECR takes a tagged image when ANY of
    its tags matches a prefix (or a `*` wildcard pattern) of the rule."""
    selection = rule["selection"]
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not tags
    prefixes = selection.get("tagPrefixList", [])
    patterns = [
        re.compile("".join(".*" if c == "*" else re.escape(c) for c in p)) for p in selection.get("tagPatternList", [])
    ]
    return any(tag.startswith(prefix) for tag in tags for prefix in prefixes) or any(
        pattern.fullmatch(tag) for tag in tags for pattern in patterns
    )


def function_of(template: Template, service: ServiceConfig) -> tuple[str, dict]:
    """The service's container function: the one the shared HTTP API's route under the service's path sends requests
    to."""
    _, route = one(template, "AWS::ApiGatewayV2::Route", {"RouteKey": lambda_route_key(service)})
    integration = route["Properties"]["Target"]["Fn::Join"][1][1]["Ref"]
    uri = template.to_json()["Resources"][integration]["Properties"]["IntegrationUri"]
    function = uri["Fn::GetAtt"][0]
    return function, template.to_json()["Resources"][function]


def lambda_route_key(service: ServiceConfig) -> str:
    """`ANY /api/{proxy+}`: the one route of the service's function on the shared HTTP API."""
    return f"ANY {service.route_path}/{{proxy+}}"


@dataclass(frozen=True)
class FargateParts:
    """Logical ids of a service's Fargate resources, found from its route: in its nested stack the listener rule with
    its path or host condition, the target group it forwards to, the ECS service behind that and its task definition;
    in the environment's stack the listener the rule is on and the shared load balancer."""

    balancer: str
    listener: str
    rule: str
    target_group: str
    service: str
    task: str


def route_condition(service: ServiceConfig, domain_name: str | None) -> dict:
    """The listener rule condition the service's route asks for: its host on the domain, else its path prefix."""
    if service.route.host:
        return {"Field": "host-header", "HostHeaderConfig": {"Values": [f"{service.route.host}.{domain_name}"]}}
    path = service.route_path
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": [path, f"{path}/*"]}}


def fargate_parts(
    stacks: ServiceStackTemplates, service: ServiceConfig, *, domain_name: str | None = None
) -> FargateParts:
    template = stacks.template
    condition = route_condition(service, domain_name)
    rule, definition = one(
        template, "AWS::ElasticLoadBalancingV2::ListenerRule", {"Conditions": Match.array_with([condition])}
    )
    (action,) = definition["Properties"]["Actions"]
    group = action["TargetGroupArn"]["Ref"]
    listener = stacks.parent_id(definition["Properties"]["ListenerArn"])
    balancer = stacks.parent.to_json()["Resources"][listener]["Properties"]["LoadBalancerArn"]["Ref"]
    found = template.find_resources(
        "AWS::ECS::Service",
        {"Properties": {"LoadBalancers": Match.array_with([Match.object_like({"TargetGroupArn": {"Ref": group}})])}},
    )
    assert len(found) == 1, f"expected one ECS service behind {service.name}'s rule, found {len(found)}"
    ((ecs_service, ecs_definition),) = found.items()
    return FargateParts(
        balancer, listener, rule, group, ecs_service, ecs_definition["Properties"]["TaskDefinition"]["Ref"]
    )


@dataclass(frozen=True)
class BuildParts:
    """A building environment's repository, image build (custom resource) and CodeBuild project for one service:
    (logical id, definition) each, found from the repository's name."""

    repository: tuple[str, dict]
    image: tuple[str, dict]
    build: tuple[str, dict]


def build_parts(template: Template, config: AppConfig, environment: str, service: str) -> BuildParts:
    name = naming.repository_name(config.project, environment, service)
    repository = one(template, "AWS::ECR::Repository", {"RepositoryName": name})
    image = one(template, "Custom::ArmImageBuild", {"RepositoryName": {"Ref": repository[0]}})
    project = image[1]["Properties"]["ProjectName"]["Ref"]
    return BuildParts(repository, image, (project, template.to_json()["Resources"][project]))


def nested_stacks(synthesized: Synthesized, environment: str) -> list[ServiceStackTemplates]:
    """Every nested stack of an environment: its services', the environment nesting nothing else (asserted), so what
    must hold in every template of the environment is checked in each of them."""
    stacks = synthesized.services(environment)
    resources = synthesized.template_dict(environment)["Resources"]
    nesting = {i for i, r in resources.items() if r["Type"] == "AWS::CloudFormation::Stack"}
    assert nesting == {s.resource[0] for s in stacks}, f"{environment} nests stacks other than its services'"
    return stacks


# What an environment's own stack may output, whatever the number of services: the sources bucket, the two base URLs
# and EKS's two. Every other output is a service's, in its own nested stack.
PARENT_OUTPUTS = {
    naming.OUTPUT_SOURCES_BUCKET,
    *(naming.base_url_output(target) for target in naming.ENDPOINT_TARGETS),
    naming.OUTPUT_EKS_CLUSTER,
    naming.OUTPUT_EKS_APPLY_PROJECT,
}


def every_value(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from every_value(item)
    elif isinstance(value, list):
        for item in value:
            yield from every_value(item)
    else:
        yield value


def assert_nested_per_service(synthesized: Synthesized, environment: str) -> None:
    parent = synthesized.template_dict(environment)
    nested = {k: r for k, r in parent["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}
    services = synthesized.services(environment)
    # One nested stack per service, and no other.
    assert sorted(s.resource[0] for s in services) == sorted(nested)
    for service in services:
        template = service.document
        declared = set(template.get("Parameters", {}))
        # Every parameter the nested stack declares is passed, and each is a parent resource's Ref or GetAtt.
        assert declared == set(service.parameters), service.resource[0]
        for value in service.parameters.values():
            assert set(value) <= {"Ref", "Fn::GetAtt"}, value
            target = value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]
            assert target in parent["Resources"], value
        assert set(service.resource[1]["Properties"]) >= {"TemplateURL"}


def assert_nothing_exported(synthesized: Synthesized, environment: str) -> None:
    templates = [synthesized.template_dict(environment), *(s.document for s in synthesized.services(environment))]
    for template in templates:
        assert not [o for o in template.get("Outputs", {}).values() if "Export" in o]
        assert "Fn::ImportValue" not in set(every_value(template))


def with_change(change) -> dict:
    """cdk.json's context after `change(context)`: a configuration one setting away from the committed one."""
    context = copy.deepcopy(repo_context())
    change(context)
    return context


def error_for(change) -> str:
    """The one-line refusal of the configuration `change` makes."""
    with pytest.raises(ConfigError) as caught:
        load_config(with_change(change), root=ROOT)
    message = str(caught.value)
    assert "\n" not in message
    return message


def public_vpc(stack: cdk.Stack) -> Any:
    """A small stack's VPC: two AZs of public subnets, no NAT gateway."""
    from aws_cdk import aws_ec2 as ec2

    return ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )
