"""DevStack's image build of every service, property by property: file asset, ARM CodeBuild, custom resource, ECR, Lambda.

Each service's repository, build and function are in its nested stack; the image-build provider, the build key and
the sources bucket are in DevStack, which passes what the nested stack uses of them as its parameters."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
import yaml
from aws_cdk.assertions import Match
from support import (
    ROOT,
    arn_text,
    build_parts,
    function_of,
    lifecycle_rules,
    one,
    referenced_ids,
    rule_selects,
    synthesized_services,
)

from graviton.constants import CANDIDATE_IMAGE_DAYS, PLATFORM, POWERTOOLS_VERSION, UNTAGGED_IMAGE_DAYS
from graviton.image_build.arm_image_build import BUILDSPEC, LAYER_SCAN_MODULES, build_spec
from graviton.image_build.runtime.image_build_contract import (
    CANDIDATE_TAG_PREFIX,
    ImageBuildProperties,
    _cfn_key,
    encode_build_args,
)
from graviton.registry.image_repository import PUSH_ACTIONS
from graviton_app import naming


@pytest.fixture(scope="module", params=synthesized_services())
def service(request, config):
    """Each service of the configuration the app was synthesized with."""
    return config.service(request.param)


@pytest.fixture(scope="module")
def stacks(synthesized, service):
    """The service's nested stack in DevStack, with DevStack."""
    return synthesized.service("dev", service.name)


@pytest.fixture(scope="module")
def parts(stacks, config, service):
    return build_parts(stacks.template, config, "dev", service.name)


@dataclass(frozen=True)
class Provider:
    """The image-build provider in DevStack: its on_event handler, the handler's role, the role's policy (logical
    ids) and the policy's statements."""

    handler: str
    role: str
    policy: str
    statements: list[dict]


@pytest.fixture(scope="module")
def provider(dev) -> Provider:
    ((handler, definition),) = dev.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "image_build_handler.on_event"}}
    ).items()
    role = definition["Properties"]["Role"]["Fn::GetAtt"][0]
    ((policy, document),) = dev.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).items()
    return Provider(handler, role, policy, document["Properties"]["PolicyDocument"]["Statement"])


@pytest.fixture(scope="module")
def build(parts):
    return parts.build


@pytest.fixture(scope="module")
def image(parts):
    return parts.image


@pytest.fixture(scope="module")
def repository(parts):
    return parts.repository


def test_every_service_of_the_configuration_is_tested(config):
    assert [s.name for s in config.services] == synthesized_services()


def test_the_build_is_described_by_the_services_folder(build, service):
    assert build[1]["Properties"]["Description"] == f"Builds {service.folder} natively for {PLATFORM} on Graviton"


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def variables(build) -> dict[str, str]:
    return {v["Name"]: v["Value"] for v in build[1]["Properties"]["Environment"]["EnvironmentVariables"]}


def test_the_image_is_built_by_the_custom_resource_for_the_builds_project_and_tag(build, image, repository):
    props = image[1]["Properties"]
    assert props["ProjectName"] == {"Ref": build[0]}
    assert props["RepositoryName"] == {"Ref": repository[0]}
    assert props["ImageTag"] == variables(build)["IMAGE_TAG"]
    assert len(props["ImageTag"]) == 64


def test_the_custom_resource_carries_exactly_the_contracts_properties(image):
    expected = {_cfn_key(field.name) for field in fields(ImageBuildProperties)}
    assert set(image[1]["Properties"]) - {"ServiceToken", "ServiceTimeout"} == expected


def test_the_build_reads_the_context_cdk_uploaded_as_a_file_asset(synthesized, build, image, service):
    assets = json.loads((synthesized.outdir / f"{synthesized.stacks['dev'].artifact_id}.assets.json").read_text())
    zips = {
        destination["objectKey"]: asset["source"]
        for asset in assets["files"].values()
        for destination in asset["destinations"].values()
        if asset["source"].get("packaging") == "zip"
    }
    key = image[1]["Properties"]["SourceLocation"]["Fn::Join"][1][-1].lstrip("/")
    staged = synthesized.outdir / zips[key]["path"]
    assert (staged / service.dockerfile).is_file()
    assert not (staged / "tests").exists()  # .dockerignore applies to the upload too
    assert build[1]["Properties"]["Source"]["Location"]["Fn::Join"][1][-1] == f"/{key}"


def test_waiting_is_bounded_by_the_environments_timeout(dev, build, image, config):
    minutes = config.environments["dev"].image_build_timeout_minutes
    assert image[1]["Properties"]["TimeoutSeconds"] == minutes * 60
    assert build[1]["Properties"]["TimeoutInMinutes"] == minutes
    # The backstops: the framework gives up after 55 minutes (20 s polls), CloudFormation after one hour.
    _, machine = one(dev, "AWS::StepFunctions::StateMachine")
    definition = json.dumps(machine["Properties"]["DefinitionString"])
    assert '\\"IntervalSeconds\\":20' in definition
    assert '\\"MaxAttempts\\":165' in definition
    assert image[1]["Properties"]["ServiceTimeout"] == "3600"


def test_the_handler_is_our_python_on_arm64_with_the_pinned_powertools_layer(dev):
    handlers = dev.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": Match.string_like_regexp("^image_build_handler\\.")}}
    )
    assert sorted(h["Properties"]["Handler"] for h in handlers.values()) == [
        "image_build_handler.is_complete",
        "image_build_handler.on_event",
    ]
    parameters = dev.find_parameters(
        "*", {"Default": f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"}
    )
    assert len(parameters) == 1
    for handler in handlers.values():
        assert handler["Properties"]["Architectures"] == ["arm64"]
        assert handler["Properties"]["Runtime"] == "python3.14"
        assert handler["Properties"]["Layers"] == [{"Ref": next(iter(parameters))}]


@pytest.mark.sample  # the handler tests run with the api sample's pins (docker/api/tests)
def test_the_powertools_layer_matches_the_version_the_handler_tests_run_with():
    pins = (ROOT / "docker" / "api" / "requirements.txt").read_text()
    assert f"aws-lambda-powertools=={POWERTOOLS_VERSION}" in pins


def pattern_of(statement: dict, kind: str) -> str:
    """The name pattern of a statement's one resource, an ARN of `kind` (`project`, `repository`) in DevStack's own
    account and region."""
    service = {"project": "codebuild", "repository": "ecr"}[kind]
    text = arn_text(statement["Resource"])
    arn_prefix = f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{kind}/"
    assert text.startswith(arn_prefix), text
    return text.removeprefix(arn_prefix)


def test_the_handler_may_only_start_and_watch_this_environments_builds_and_read_and_untag_its_repositories(
    dev, config, provider, build, repository, service
):
    """The builds are in nested stacks, which wait for the provider's role: its policy grants them by name
    pattern, never by naming a nested resource (CloudFormation would refuse the cycle)."""
    statements = provider.statements
    (start,) = [s for s in statements if "codebuild:StartBuild" in s["Action"]]
    # ListBuildsForProject: a poll finds the build an earlier poll started after waiting for capacity.
    assert start["Action"] == [
        "codebuild:BatchGetBuilds",
        "codebuild:ListBuildsForProject",
        "codebuild:StartBuild",
        "codebuild:StopBuild",
    ]
    # BatchDeleteImage: the handler removes a stray candidate tag from an image it reuses (IAM knows no image tags).
    (describe,) = [s for s in statements if "ecr:DescribeImages" in s["Action"]]
    assert describe["Action"] == ["ecr:BatchDeleteImage", "ecr:DescribeImages"]
    granted = [s for s in statements if any(a.split(":")[0] in ("codebuild", "ecr") for a in as_list(s["Action"]))]
    assert granted == [start, describe]
    projects, repositories = pattern_of(start, "project"), pattern_of(describe, "repository")
    # The nested stack names its project and repository so that the patterns cover both.
    project_name = build[1]["Properties"]["Name"]
    repository_name = repository[1]["Properties"]["RepositoryName"]
    assert project_name == naming.build_project_name(config.project, "dev", service.name)
    assert fnmatch.fnmatchcase(project_name, projects)
    assert fnmatch.fnmatchcase(repository_name, repositories)
    # Nothing broader: this environment's names, not another environment's nor a project without the prefix.
    assert projects == repositories == f"{naming.name_prefix(config.project, 'dev')}*"
    for other in set(config.environments) - {"dev"}:
        assert not fnmatch.fnmatchcase(naming.build_project_name(config.project, other, service.name), projects)
        assert not fnmatch.fnmatchcase(naming.repository_name(config.project, other, service.name), repositories)
    others = [p for p in dev.find_resources("AWS::CodeBuild::Project").values() if "IMAGE_TAG" not in json.dumps(p)]
    assert not [p for p in others if fnmatch.fnmatchcase(p["Properties"].get("Name", ""), projects)]


def test_the_providers_policy_names_no_nested_resource(dev, provider):
    resources = dev.to_json()["Resources"]
    named = referenced_ids(provider.statements)
    assert named <= set(resources)  # DevStack's own resources, no parameter
    assert not [i for i in named if resources[i]["Type"] == "AWS::CloudFormation::Stack"]  # nor a nested output


def test_the_build_and_its_permissions_exist_before_the_custom_resource_starts_it(
    stacks, provider, build, image, repository
):
    depends = set(image[1]["DependsOn"])
    build_policy = build[1]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    policies = stacks.template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": build_policy}]}})
    assert {build[0], build_policy, repository[0], *policies} <= depends
    # The custom resource is DevStack's provider's, whose role and grants are DevStack's: the nested stack waits.
    framework = stacks.parent.to_json()["Resources"][stacks.parent_id(image[1]["Properties"]["ServiceToken"])]
    on_event = framework["Properties"]["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"]
    assert on_event == {"Fn::GetAtt": [provider.handler, "Arn"]}
    assert {provider.role, provider.policy} <= set(stacks.resource[1]["DependsOn"])


@pytest.mark.parametrize("lambda_service", synthesized_services("lambda"))
def test_the_function_runs_the_built_tag_from_the_projects_own_repository_after_the_build(
    synthesized, config, lambda_service
):
    nested = synthesized.service("dev", lambda_service).template
    built = build_parts(nested, config, "dev", lambda_service)
    _, props = function_of(nested, config.service(lambda_service))
    uri = props["Properties"]["Code"]["ImageUri"]["Fn::Join"][1]
    assert {"Ref": built.repository[0]} in uri
    assert uri[-1] == f":{built.image[1]['Properties']['ImageTag']}"
    assert built.image[0] in props["DependsOn"]
    assert props["Properties"]["Architectures"] == ["arm64"]


def test_the_outputs_tell_docker_push_where_to_build(dev, stacks, build, image, repository, service):
    outputs = stacks.document["Outputs"]

    def output(what: str) -> dict:
        return outputs[naming.output_key(service.name, what)]["Value"]

    assert output(naming.OUTPUT_BUILD_PROJECT) == {"Ref": build[0]}
    assert output(naming.OUTPUT_IMAGE_URI) == {"Fn::GetAtt": [image[0], "ImageUri"]}
    assert {"Ref": repository[0]} in output(naming.OUTPUT_REPOSITORY_URI)["Fn::Join"][1]
    bucket, _ = one(dev, "AWS::S3::Bucket")
    assert dev.to_json()["Outputs"]["BuildSourcesBucket"]["Value"] == {"Ref": bucket}


def test_the_build_runs_on_arm_with_a_docker_layer_cache_and_the_repos_buildspec(build, service):
    props = build[1]["Properties"]
    assert props["Environment"]["Type"] == "ARM_CONTAINER"
    assert props["Cache"] == {"Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE"]}
    spec = yaml.safe_load(props["Source"]["BuildSpec"])
    assert spec == build_spec()
    # the repository's buildspec, after a first build command that writes the image scanner's modules
    repos = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["phases"]["build"]["commands"][1:] == repos["phases"]["build"]["commands"]
    assert {k: v for k, v in spec["phases"].items() if k != "build"} == {
        k: v for k, v in repos["phases"].items() if k != "build"
    }
    for module in LAYER_SCAN_MODULES:
        assert Path(module.__file__).read_text().rstrip("\n") in spec["phases"]["build"]["commands"][0]
    assert variables(build) | {"IMAGE_TAG": "x"} == {
        "IMAGE_REPOSITORY_URI": variables(build)["IMAGE_REPOSITORY_URI"],
        "IMAGE_REPOSITORY_NAME": variables(build)["IMAGE_REPOSITORY_NAME"],
        "IMAGE_TAG": "x",
        "DOCKERFILE": service.dockerfile,
        "PLATFORM": "linux/arm64",
        "BUILD_ARGS": encode_build_args(service.build_args),
    }


def test_the_buildspec_exports_the_pushed_digest():
    spec = yaml.safe_load(BUILDSPEC.read_text())
    assert spec["env"]["exported-variables"] == ["IMAGE_DIGEST"]


def test_only_the_build_role_may_push_to_the_repository(build, repository):
    statements = repository[1]["Properties"]["RepositoryPolicyText"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    role = build[1]["Properties"]["ServiceRole"]
    actions = {a: d for d in denies for a in ([d["Action"]] if isinstance(d["Action"], str) else d["Action"])}
    assert sorted(actions) == sorted(PUSH_ACTIONS)  # together, the Deny statements cover every push action
    for deny in denies:
        assert deny["Principal"] == {"AWS": "*"}
        assert role in deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    # Layer uploads: the build alone. PutImage also exempts the registry gatekeeper, which re-tags (tests/registry).
    assert actions["ecr:UploadLayerPart"]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [role]}}


def test_every_building_repository_expires_untagged_images_and_candidates_never_a_content_tagged_one(synthesized):
    """Promoted environments run a building repository's images by content tag, maybe long after newer builds: no
    rule may take a content-tagged image by count or age. ECR takes an image when any of its tags matches."""
    config = synthesized.config
    building = [name for name, settings in config.environments.items() if settings.images_from is None]
    assert building
    for environment in building:
        for service in config.services:
            template = synthesized.service(environment, service.name).template
            name = naming.repository_name(config.project, environment, service.name)
            repository, props = one(template, "AWS::ECR::Repository", {"RepositoryName": name})
            _, image = one(template, "Custom::ArmImageBuild", {"RepositoryName": {"Ref": repository}})
            content_tag = image["Properties"]["ImageTag"]
            rules = lifecycle_rules(props)
            assert [(r["selection"], r["action"]) for r in rules] == [
                (
                    {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countNumber": UNTAGGED_IMAGE_DAYS,
                        "countUnit": "days",
                    },
                    {"type": "expire"},
                ),
                (
                    {
                        "tagStatus": "tagged",
                        "tagPrefixList": [CANDIDATE_TAG_PREFIX],
                        "countType": "sinceImagePushed",
                        "countNumber": CANDIDATE_IMAGE_DAYS,
                        "countUnit": "days",
                    },
                    {"type": "expire"},
                ),
            ], name
            assert not [r for r in rules if r["selection"]["tagStatus"] == "any"], name
            assert not [
                r
                for r in rules
                if r["selection"]["tagStatus"] != "untagged" and r["selection"]["countType"] == "imageCountMoreThan"
            ], name
            assert not [r for r in rules if rule_selects(r, [content_tag])], name


def test_the_repository_is_encrypted_and_scanned(repository):
    props = repository[1]["Properties"]
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"


def test_the_build_reads_only_its_own_prefix_of_the_sources_bucket(dev, stacks, build, service):
    bucket, props = one(dev, "AWS::S3::Bucket")
    assert props["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7
    role = build[1]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    (policy,) = stacks.template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    # The bucket is DevStack's: its ARN reaches the nested stack as a parameter.
    in_bucket = [
        r["Fn::Join"][1]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for r in as_list(s["Resource"])
        if "Fn::Join" in r and stacks.from_parent(r["Fn::Join"][1][0]) == {"Fn::GetAtt": [bucket, "Arn"]}
    ]
    assert [parts[1:] for parts in in_bucket] == [[f"/{service.build_construct_id}/*"]]


def test_the_sources_bucket_refuses_plain_http(dev):
    bucket, _ = one(dev, "AWS::S3::Bucket")
    (policy,) = dev.find_resources("AWS::S3::BucketPolicy", {"Properties": {"Bucket": {"Ref": bucket}}}).values()
    statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_build_timeout_comes_from_the_building_environments_config(synthesized):
    config = synthesized.config
    images = [
        image
        for stacks in synthesized.services("dev")
        for image in stacks.template.find_resources("Custom::ArmImageBuild").values()
    ]
    assert [i["Properties"]["TimeoutSeconds"] for i in images] == [
        config.environments["dev"].image_build_timeout_minutes * 60
    ] * len(config.services)


def test_the_build_role_may_make_every_ecr_call_the_buildspec_makes(stacks, build):
    text = BUILDSPEC.read_text()
    operations = set(re.findall(r"aws ecr ([a-z-]+)", text))
    assert operations >= {"batch-get-image", "put-image", "batch-delete-image"}
    needed = {"ecr:" + "".join(w.capitalize() for w in op.split("-")) for op in operations - {"get-login-password"}}
    needed |= {"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", *PUSH_ACTIONS}  # login, docker push
    role = build[1]["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    (policy,) = stacks.template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    granted = set()
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
    assert needed <= granted, sorted(needed - granted)
