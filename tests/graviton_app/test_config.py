"""cdk.json validation: every bad value stops synth with one line naming the key, the value and what is allowed."""

from __future__ import annotations

import json
import sys

import pytest
from support import ROOT, error_for, repo_context, run, with_change

from graviton_app.config import load_config


def test_the_repository_config_loads():
    context = repo_context()
    config = load_config(context, root=ROOT)
    assert set(config.environments) == {"dev", "test", "prod"}
    assert [service.name for service in config.services] == [service["name"] for service in context["services"]]
    assert [service.source_dir for service in config.services] == [f"docker/{s['folder']}" for s in context["services"]]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["environments"].update(staging={}),
            "'environments.staging' is not allowed as a key of 'environments': must be 'dev', 'test' or 'prod'",
        ),
        (
            lambda c: c["environments"]["dev"].update(account="12345", region="us-east-1"),
            "'environments.dev.account' = \"12345\" is not allowed: must be a 12-digit AWS account id",
        ),
        (
            lambda c: c["environments"]["dev"].update(region="us-middle-9"),
            "'environments.dev.region' = \"us-middle-9\" is not allowed: must be an AWS region",
        ),
        # The handlers' Powertools layer exists in the commercial partition only.
        (
            lambda c: c["environments"]["dev"].update(account="123456789012", region="cn-north-1"),
            "'environments.dev.region' = \"cn-north-1\" is not allowed: is in the 'aws-cn' partition; allowed: a region"
            " of the 'aws' partition",
        ),
        (
            lambda c: c["environments"]["prod"].update(account="123456789012", region="us-gov-west-1"),
            "'environments.prod.region' = \"us-gov-west-1\" is not allowed: is in the 'aws-us-gov' partition",
        ),
        (
            lambda c: c["environments"]["dev"].update(account="123456789012"),
            "'region' is required when 'account' is set",
        ),
        (
            lambda c: c["environments"]["dev"].update(lambda_memory_mb=64),
            "'environments.dev.lambda_memory_mb' = 64 is not allowed: must be greater than or equal to 128",
        ),
        (
            lambda c: c["environments"]["dev"].update(lambda_memory_mb="512"),
            "'environments.dev.lambda_memory_mb' = \"512\" is not allowed: must be a valid integer",
        ),
        (
            lambda c: c["environments"]["dev"].update(acount="123456789012"),
            "unknown key 'acount'; allowed keys: account, region",
        ),
        (
            lambda c: c["services"][0].update(targets=["lambda", "apprunner"]),
            "'services[0].targets[1]' = \"apprunner\" is not allowed: must be 'lambda'",
        ),
        (
            lambda c: c["services"][0].update(targets=[]),
            "'services[0].targets' = <list> is not allowed: List should have at least 1 item",
        ),
        (
            lambda c: c["services"][0].update(folder="nowhere"),
            "'services[0].folder' = \"nowhere\" is not allowed: must name an existing folder directly under docker/",
        ),
        (
            lambda c: c["services"][0].update(folder="../stacks"),
            "'services[0].folder' = \"../stacks\" is not allowed",
        ),
        (
            lambda c: c["services"][0].update(dockerfile="Dockerfile.missing"),
            "dockerfile 'Dockerfile.missing' does not exist in docker/api/",
        ),
        (
            lambda c: c["services"].append(dict(c["services"][0])),
            "service name 'api' appears more than once; names must be unique",
        ),
        (
            lambda c: c["services"][0].update(name="Api_1"),
            "'services[0].name' = \"Api_1\" is not allowed: must be lower-case letters",
        ),
        (
            lambda c: c["environments"]["dev"].update(image_build_timeout_minutes=240),
            "'environments.dev.image_build_timeout_minutes' = 240 is not allowed: must be less than or equal to 50",
        ),
        # Retired: content-tagged images never expire now (a promoted environment may run any of them).
        (
            lambda c: c["environments"]["prod"].update(max_image_count=100),
            "'environments.prod.max_image_count' = 100 is not allowed: no longer a setting: content-tagged images"
            " never expire, only untagged and candidate-* images do",
        ),
        (
            lambda c: c["services"][0].update(build_args={"TARGETARCH": "amd64"}),
            "'services[0].build_args' = <dict> is not allowed: 'TARGETARCH' is set by the build from the platform",
        ),
        (
            lambda c: c["services"][0].update(build_args={"NOT-A-NAME": "x"}),
            "'NOT-A-NAME' is not a build argument name",
        ),
        (
            lambda c: c["services"][0].update(build_args={"NOTE": "two\nlines"}),
            "the value of 'NOTE' must be one line",
        ),
        (
            lambda c: c["services"][0].update(build_args={"PORT": 8080}),
            "'services[0].build_args.PORT' = 8080 is not allowed: must be a valid string",
        ),
        (
            lambda c: c["environments"]["dev"].update(log_retention_days=10),
            "'environments.dev.log_retention_days' = 10 is not allowed: must be one of CloudWatch's retention periods",
        ),
        (
            lambda c: c["environments"]["dev"].update(alarm_email="team-at-example"),
            "'environments.dev.alarm_email' = \"team-at-example\" is not allowed: must be an email address",
        ),
        (
            lambda c: c["environments"]["dev"].update(lambda_reserved_concurrency=901),
            "'environments.dev.lambda_reserved_concurrency' = 901 is not allowed: must be less than or equal to 900",
        ),
        (
            lambda c: c["environments"]["dev"].update(eks_min_nodes=0),
            "'environments.dev.eks_min_nodes' = 0 is not allowed: must be greater than or equal to 1",
        ),
        (
            lambda c: c["environments"]["dev"].update(lambda_reserved_concurrency=0),
            "'environments.dev.lambda_reserved_concurrency' = 0 is not allowed: must be greater than or equal to 1",
        ),
        (
            lambda c: c["environments"]["dev"].update(ecs_cpu=300),
            "'environments.dev.ecs_cpu' = 300 is not allowed: must be a Fargate size: 256, 512, 1024, 2048, 4096",
        ),
        (
            lambda c: c["environments"]["dev"].update(ecs_cpu=1024, ecs_memory_mb=512),
            "ecs_memory_mb 512 does not fit ecs_cpu 1024; allowed: 2048 to 8192",
        ),
        (
            lambda c: c["environments"]["dev"].update(ecs_min_tasks=3, ecs_max_tasks=2),
            "ecs_min_tasks 3 is above ecs_max_tasks 2",
        ),
        (
            lambda c: c["environments"]["dev"].update(nat_gateways=3),
            "'environments.dev.nat_gateways' = 3 is not allowed: must be less than or equal to 2",
        ),
        (
            lambda c: c["environments"]["dev"].update(eks_instance_types=["t4g.large", "m5.large"]),
            "'m5.large' is not a Graviton instance type",
        ),
        (
            lambda c: c["environments"]["dev"].update(eks_version="latest"),
            "'environments.dev.eks_version' = \"latest\" is not allowed: must be a Kubernetes minor version",
        ),
        (
            lambda c: c["environments"]["dev"].update(eks_admin_role_arns=["admin"]),
            "'admin' is not an IAM role ARN",
        ),
        (lambda c: c.update(eks="dev,qa"), "'eks[1]' = \"qa\" is not allowed: must be 'dev', 'test' or 'prod'"),
        (
            lambda c: c.update(eks="prod", environments={"dev": {}}),
            "eks lists 'prod', which is not in environments (dev)",
        ),
        (lambda c: c.update(pipeline_account="123456789012"), "'pipeline_region' is required when 'pipeline_account'"),
        (
            lambda c: c.update(pipeline_account="123456789012", pipeline_region="cn-northwest-1"),
            "'pipeline_region' = \"cn-northwest-1\" is not allowed: is in the 'aws-cn' partition",
        ),
        (
            lambda c: c.update(pipeline_repository="just-a-name"),
            "'pipeline_repository' = \"just-a-name\" is not allowed",
        ),
        (lambda c: c.update(pipeline_connection_arn="arn:aws:s3:::x"), "must be a CodeConnections ARN"),
        (lambda c: c.pop("project"), "cdk.json: 'project' is missing; it is required"),
        (lambda c: c.update(projcet="x"), "unknown context key 'projcet'; allowed keys: project, environments"),
        (lambda c: c.update(services="[not json"), "'services' = \"[not json\" is not allowed: must be JSON"),
    ],
)
def test_bad_values_give_one_line_naming_key_value_and_what_is_allowed(change, expected):
    assert expected in error_for(change)


@pytest.mark.parametrize(
    ("given", "expected"), [("dev", ["dev"]), ("dev, prod", ["dev", "prod"]), ('["test"]', ["test"]), ("", [])]
)
def test_eks_takes_names_separated_by_commas_or_json(given, expected):
    assert load_config(with_change(lambda c: c.update(eks=given)), root=ROOT).eks == expected


def test_json_strings_from_the_command_line_are_read_as_json():
    services = json.dumps([{"name": "api", "folder": "api", "dockerfile": "Dockerfile.lambda", "targets": ["lambda"]}])
    config = load_config(with_change(lambda c: c.update(services=services, project="other")), root=ROOT)
    assert config.project == "other"
    assert config.services[0].dockerfile == "Dockerfile.lambda"


def test_cdk_feature_flags_and_cli_keys_are_not_ours_to_refuse():
    load_config(with_change(lambda c: c.update({"aws:cdk:enable-path-metadata": True})), root=ROOT)


def test_python_app_py_exits_with_the_line_and_no_traceback():
    context = with_change(lambda c: c["environments"]["dev"].update(region="mars-1"))
    result = run([sys.executable, "app.py"], env={"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": "/tmp"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and "!!" not in line]
    assert lines == [
        "-c environments: 'environments.dev.region' = \"mars-1\" is not allowed: "
        "must be an AWS region such as 'us-east-1' or 'eu-west-1'"
    ]


def test_cdk_synth_with_a_bad_override_fails_with_the_line(tmp_path):
    result = run(["cdk", "synth", "--quiet", "-o", str(tmp_path), "-c", "project=Bad_Name"])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "-c project: 'project' = \"Bad_Name\" is not allowed" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("name", ["web-", "x--y", "-web"])
def test_a_service_name_an_ecr_repository_name_could_not_end_with_is_refused(name):
    def change(context):
        context["services"][0]["name"] = name

    message = error_for(change)
    assert f"'services[0].name' = \"{name}\"" in message and "single '-' between them" in message


def test_two_service_names_that_make_the_same_id_are_refused():
    def change(context):
        first = context["services"][0]
        context["services"] = [dict(first, name="web-2"), dict(first, name="web2")]

    assert error_for(change).endswith("service names 'web-2' and 'web2' both make the id 'Web2'; rename one")
