"""The deploy-time build handler, against botocore's Stubber: every AWS call it makes is scripted here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import image_build_contract as contract
import image_build_handler as handler
import pytest
from botocore.stub import ANY, Stubber

TAG = "a" * 64
DIGEST = "sha256:" + "b" * 64
BUILD_ID = "gg-dev-api-build:5d2c6f5e-0000-4000-8000-000000000001"
LOGS = "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/x"
PROPS = contract.ImageBuildProperties(
    project_name="gg-dev-api-build",
    repository_name="gg-dev-api",
    repository_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/gg-dev-api",
    image_tag=TAG,
    source_location="cdk-assets-bucket/" + TAG + ".zip",
    timeout_seconds=1800,
)


@dataclass
class LambdaContext:
    function_name: str = "image-build"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:image-build"
    aws_request_id: str = "request-1"


@pytest.fixture
def aws(monkeypatch):
    """Stubbed (codebuild, ecr) clients; the test fails if a scripted call is left unmade."""
    codebuild = boto3.client("codebuild", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    ecr = boto3.client("ecr", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(handler, "clients", lambda: (codebuild, ecr))
    delays: list[float] = []
    monkeypatch.setattr(contract.time, "sleep", delays.append)
    with Stubber(codebuild) as cb, Stubber(ecr) as registry:
        yield cb, registry, delays
        cb.assert_no_pending_responses()
        registry.assert_no_pending_responses()


def event(request_type: str = "Create", props: contract.ImageBuildProperties = PROPS, **extra) -> dict:
    cfn = {key: str(value) for key, value in props.to_cfn().items()}  # CloudFormation sends strings
    return {
        "RequestType": request_type,
        "RequestId": "5f1c2a3b-request",
        "ResourceProperties": {"ServiceToken": "arn:x", **cfn},
        **extra,
    }


def build(status: str = "IN_PROGRESS", *, started: datetime | None = None, **extra) -> dict:
    return {
        "id": BUILD_ID,
        "buildStatus": status,
        "startTime": started or datetime.now(UTC),
        "logs": {"deepLink": LOGS},
        **extra,
    }


def tag_absent(registry) -> None:
    registry.add_client_error("describe_images", "ImageNotFoundException", "no such tag")


def started(cb, **params) -> None:
    request = contract.start_build_request(PROPS, idempotency_token="5f1c2a3b-request", request_id="5f1c2a3b-request")
    cb.add_response("start_build", {"build": build()}, {**request, **params})


def no_capacity(cb) -> None:
    cb.add_client_error(
        "start_build", "AccountLimitExceededException", "Cannot have more than 1 builds in queue for the account"
    )


def test_create_starts_the_projects_build_for_the_tag_from_the_uploaded_source(aws):
    cb, registry, _ = aws
    tag_absent(registry)
    cb.add_response(
        "start_build",
        {"build": build()},
        {
            "projectName": "gg-dev-api-build",
            # The request id: a retried invocation of the same event starts no second build.
            "idempotencyToken": "5f1c2a3b-request",
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": f"cdk-assets-bucket/{TAG}.zip",
            # Only the tag is overridden: the platform stays the project's linux/arm64. The request id marks the
            # build as this request's.
            "environmentVariablesOverride": [
                {"name": "IMAGE_TAG", "value": TAG, "type": "PLAINTEXT"},
                {"name": "CLOUDFORMATION_REQUEST_ID", "value": "5f1c2a3b-request", "type": "PLAINTEXT"},
            ],
            "timeoutInMinutesOverride": 30,
        },
    )
    response = handler.on_event(event(), LambdaContext())
    assert response == {"PhysicalResourceId": f"gg-dev-api:{TAG}", "Data": {"BuildId": BUILD_ID}}


def test_a_tag_already_in_the_repository_starts_no_build(aws):
    _, registry, _ = aws
    registry.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": DIGEST, "imageTags": [TAG]}]},
        {"registryId": "123456789012", "repositoryName": "gg-dev-api", "imageIds": [{"imageTag": TAG}]},
    )
    response = handler.on_event(event(), LambdaContext())  # no start_build scripted: the Stubber would refuse it
    assert response["Data"][contract.ATTR_IMAGE_DIGEST] == DIGEST
    assert response["Data"][contract.ATTR_IMAGE_URI] == f"{PROPS.repository_uri}@{DIGEST}"
    # The framework then asks is_complete, which answers from the data alone.
    assert handler.is_complete({**event(), **response}, LambdaContext()) == {"IsComplete": True}


def test_a_successful_build_reports_the_digest_it_exported(aws):
    cb, _, _ = aws
    exported = [{"name": "IMAGE_DIGEST", "value": DIGEST}]
    cb.add_response(
        "batch_get_builds",
        {"builds": [build("SUCCEEDED", exportedEnvironmentVariables=exported)]},
        {"ids": [BUILD_ID]},
    )
    response = handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext())
    assert response == {
        "IsComplete": True,
        "Data": {"ImageUri": f"{PROPS.repository_uri}@{DIGEST}", "ImageDigest": DIGEST, "BuildId": BUILD_ID},
    }


def test_a_running_build_within_its_timeout_is_polled_again(aws):
    cb, _, _ = aws
    cb.add_response("batch_get_builds", {"builds": [build(currentPhase="BUILD")]}, {"ids": [BUILD_ID]})
    assert handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext()) == {"IsComplete": False}


@pytest.mark.parametrize("status", ["FAILED", "FAULT", "STOPPED", "TIMED_OUT"])
def test_a_failed_build_fails_the_deployment_with_its_id_phase_and_logs(aws, status):
    cb, registry, _ = aws
    tag_absent(registry)
    phases = [
        {"phaseType": "PRE_BUILD", "phaseStatus": "SUCCEEDED"},
        {"phaseType": "BUILD", "phaseStatus": status, "contexts": [{"message": "COMMAND_EXECUTION_ERROR:\n exit 1"}]},
    ]
    cb.add_response("batch_get_builds", {"builds": [build(status, phases=phases)]}, {"ids": [BUILD_ID]})
    with pytest.raises(contract.BuildFailedError) as failure:
        handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext())
    message = str(failure.value)
    assert BUILD_ID in message and LOGS in message and f"{status} in phase BUILD" in message
    assert "COMMAND_EXECUTION_ERROR: exit 1" in message
    assert "\n" not in message  # CloudFormation shows the reason as one line


def test_a_build_past_its_timeout_is_stopped_and_fails_the_deployment(aws):
    cb, _, _ = aws
    late = datetime.now(UTC) - timedelta(seconds=PROPS.timeout_seconds + 5)
    cb.add_response("batch_get_builds", {"builds": [build(started=late)]}, {"ids": [BUILD_ID]})
    cb.add_response("stop_build", {"build": build("STOPPED")}, {"id": BUILD_ID})
    with pytest.raises(contract.BuildFailedError, match=r"still running after 30 min; stopped it") as failure:
        handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext())
    assert BUILD_ID in str(failure.value) and LOGS in str(failure.value)


def test_a_shorter_timeout_from_the_properties_is_honoured(aws):
    cb, _, _ = aws
    short = contract.ImageBuildProperties(**{**PROPS.__dict__, "timeout_seconds": 600})
    cb.add_response(
        "batch_get_builds",
        {"builds": [build(started=datetime.now(UTC) - timedelta(seconds=601))]},
        {"ids": [BUILD_ID]},
    )
    cb.add_response("stop_build", {"build": build("STOPPED")}, {"id": BUILD_ID})
    with pytest.raises(contract.BuildFailedError, match="after 10 min"):
        handler.is_complete(event(props=short, Data={"BuildId": BUILD_ID}), LambdaContext())


def test_throttling_is_retried_with_growing_delays(aws):
    cb, registry, delays = aws
    tag_absent(registry)
    cb.add_client_error("start_build", "ThrottlingException", "Rate exceeded")
    cb.add_client_error("start_build", "ThrottlingException", "Rate exceeded")
    started(cb)
    assert handler.on_event(event(), LambdaContext())["Data"] == {"BuildId": BUILD_ID}
    assert delays == [2.0, 4.0]


def test_a_just_created_role_that_codebuild_cannot_assume_yet_is_retried(aws):
    cb, registry, delays = aws
    tag_absent(registry)
    cb.add_client_error(
        "start_build",
        "InvalidInputException",
        "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::123456789012:role/build",
    )
    started(cb)
    assert handler.on_event(event(), LambdaContext())["Data"] == {"BuildId": BUILD_ID}
    assert delays == [2.0]


def test_throttling_that_never_ends_fails_after_the_last_attempt(aws):
    cb, registry, delays = aws
    tag_absent(registry)
    for _ in range(6):
        cb.add_client_error("start_build", "ThrottlingException", "Rate exceeded")
    with pytest.raises(Exception, match="ThrottlingException"):
        handler.on_event(event(), LambdaContext())
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0]


def test_a_real_error_is_not_retried(aws):
    cb, registry, delays = aws
    tag_absent(registry)
    cb.add_client_error("start_build", "ResourceNotFoundException", "project gg-dev-api-build not found")
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        handler.on_event(event(), LambdaContext())
    assert delays == []


def test_delete_touches_nothing(aws):
    # No response is scripted: any AWS call would fail the test.
    physical = f"gg-dev-api:{TAG}"
    assert handler.on_event(event("Delete", PhysicalResourceId=physical), LambdaContext()) == {
        "PhysicalResourceId": physical
    }
    assert handler.is_complete(event("Delete", PhysicalResourceId=physical), LambdaContext()) == {"IsComplete": True}


def test_a_new_tag_is_a_new_physical_id_so_cloudformation_replaces_the_image(aws):
    cb, registry, _ = aws
    new = contract.ImageBuildProperties(**{**PROPS.__dict__, "image_tag": "c" * 64})
    tag_absent(registry)
    cb.add_response(
        "start_build", {"build": build()}, contract.start_build_request(new, idempotency_token=ANY, request_id=ANY)
    )
    update = event("Update", props=new, PhysicalResourceId=PROPS.physical_id)
    assert handler.on_event(update, LambdaContext())["PhysicalResourceId"] == f"gg-dev-api:{'c' * 64}"


def test_properties_read_back_what_the_construct_wrote():
    cfn = {key: str(value) for key, value in PROPS.to_cfn().items()}
    assert contract.ImageBuildProperties.from_cfn(cfn) == PROPS


def test_a_missing_property_is_named():
    cfn = {key: str(value) for key, value in PROPS.to_cfn().items() if key != "ProjectName"}
    with pytest.raises(ValueError, match="'ProjectName' is missing"):
        contract.ImageBuildProperties.from_cfn(cfn)


def test_the_pushed_digest_is_only_a_sha256_the_buildspec_exported():
    assert (
        contract.pushed_digest({"exportedEnvironmentVariables": [{"name": "IMAGE_DIGEST", "value": DIGEST}]}) == DIGEST
    )
    assert contract.pushed_digest({"exportedEnvironmentVariables": [{"name": "IMAGE_DIGEST", "value": ""}]}) is None
    assert contract.pushed_digest({}) is None


def test_a_successful_build_without_an_exported_digest_reads_it_from_ecr(aws):
    cb, registry, _ = aws
    cb.add_response("batch_get_builds", {"builds": [build("SUCCEEDED")]}, {"ids": [BUILD_ID]})
    registry.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": DIGEST}]},
        {"registryId": "123456789012", "repositoryName": ANY, "imageIds": ANY},
    )
    response = handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext())
    assert response["Data"]["ImageDigest"] == DIGEST


def test_a_failed_build_whose_tag_a_concurrent_build_pushed_succeeds_with_that_image(aws):
    # Only a checked image ever gets the real tag, so a tag in ECR is as good as our own build's.
    cb, registry, _ = aws
    cb.add_response("batch_get_builds", {"builds": [build("FAILED")]}, {"ids": [BUILD_ID]})
    registry.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": DIGEST}]},
        {"registryId": "123456789012", "repositoryName": ANY, "imageIds": ANY},
    )
    response = handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext())
    assert response["IsComplete"] is True
    assert response["Data"]["ImageDigest"] == DIGEST


PROMOTED = contract.ImageBuildProperties(
    project_name="",
    repository_name="gg-dev-api",
    repository_uri="210987654321.dkr.ecr.eu-west-1.amazonaws.com/gg-dev-api",  # the building environment's account
    image_tag=TAG,
    source_location="",
    timeout_seconds=300,
)


def test_a_promoted_image_is_looked_up_in_the_building_accounts_registry_and_never_built(aws):
    _, registry, _ = aws
    registry.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": DIGEST}]},
        {"registryId": "210987654321", "repositoryName": "gg-dev-api", "imageIds": [{"imageTag": TAG}]},
    )
    response = handler.on_event(event(props=PROMOTED), LambdaContext())
    assert response["Data"]["ImageUri"] == f"{PROMOTED.repository_uri}@{DIGEST}"


def test_a_promoted_image_that_was_never_built_fails_the_deployment_and_says_what_to_deploy(aws):
    _, registry, _ = aws
    tag_absent(registry)
    with pytest.raises(contract.BuildFailedError, match="deploy the environment that builds them first") as failure:
        handler.on_event(event(props=PROMOTED), LambdaContext())
    assert str(failure.value).startswith(f"image gg-dev-api:{TAG} is not in 210987654321's registry")
    assert "\n" not in str(failure.value)


def ours(status: str = "IN_PROGRESS", *, request_id: str = "5f1c2a3b-request", **extra) -> dict:
    """A build as BatchGetBuilds describes it, started by the handler for the CloudFormation request `request_id`."""
    variables = [
        {"name": "IMAGE_TAG", "value": TAG, "type": "PLAINTEXT"},
        {"name": "CLOUDFORMATION_REQUEST_ID", "value": request_id, "type": "PLAINTEXT"},
    ]
    environment = {
        "type": "ARM_CONTAINER",
        "image": "aws/codebuild/amazonlinux-aarch64-standard:3.0",
        "computeType": "BUILD_GENERAL1_SMALL",
        "environmentVariables": variables,
    }
    return build(status, environment=environment, **extra)


def test_no_codebuild_capacity_is_waited_for_and_a_later_poll_finds_the_build_an_earlier_one_started(aws):
    cb, registry, delays = aws
    tag_absent(registry)
    no_capacity(cb)  # on_event: the account's one concurrent build is the other service's
    response = handler.on_event(event(), LambdaContext())
    assert response["Data"]["BuildId"] == ""
    polled = {**event(), **response}  # what the framework hands every is_complete: the request plus on_event's answer

    # Poll 1: no build of this request yet, still no capacity.
    cb.add_response("list_builds_for_project", {}, {"projectName": PROPS.project_name, "sortOrder": "DESCENDING"})
    no_capacity(cb)
    assert handler.is_complete(polled, LambdaContext()) == {"IsComplete": False}
    # Poll 2: only another request's build exists; now a slot is free and the build starts.
    other = "gg-dev-api-build:00000000-0000-4000-8000-000000000009"
    cb.add_response(
        "list_builds_for_project", {"ids": [other]}, {"projectName": PROPS.project_name, "sortOrder": "DESCENDING"}
    )
    cb.add_response(
        "batch_get_builds", {"builds": [{**ours(request_id="another-request"), "id": other}]}, {"ids": [other]}
    )
    started(cb)
    assert handler.is_complete(polled, LambdaContext()) == {"IsComplete": False}
    # Poll 3: nothing was handed on, yet it finds the build poll 2 started (no second StartBuild) and its image.
    exported = [{"name": "IMAGE_DIGEST", "value": DIGEST}]
    cb.add_response(
        "list_builds_for_project",
        {"ids": [BUILD_ID, other]},
        {"projectName": PROPS.project_name, "sortOrder": "DESCENDING"},
    )
    cb.add_response(
        "batch_get_builds",
        {"builds": [ours("SUCCEEDED", exportedEnvironmentVariables=exported), ours(request_id="another-request")]},
        {"ids": [BUILD_ID, other]},
    )
    done = handler.is_complete(polled, LambdaContext())
    assert done["IsComplete"] is True
    assert done["Data"]["ImageDigest"] == DIGEST and done["Data"]["BuildId"] == BUILD_ID
    assert delays == []  # a full quota is not throttling: no backoff inside one invocation


def test_no_codebuild_capacity_until_the_build_timeout_fails_the_deployment_with_one_line(aws):
    cb, _, _ = aws
    waiting_since = str(int(datetime.now(UTC).timestamp()) - PROPS.timeout_seconds - 5)
    cb.add_response("list_builds_for_project", {}, {"projectName": PROPS.project_name, "sortOrder": "DESCENDING"})
    # No start_build scripted: past the timeout the handler must not start one (the Stubber would refuse it).
    polled = event(Data={"BuildId": "", "WaitingSince": waiting_since})
    with pytest.raises(contract.BuildFailedError) as failure:
        handler.is_complete(polled, LambdaContext())
    message = str(failure.value)
    assert message.startswith("no CodeBuild capacity for gg-dev-api-build in 30 min")
    assert "AccountLimitExceededException" in message and "\n" not in message


def test_time_spent_waiting_for_capacity_counts_towards_the_build_timeout(aws):
    cb, _, _ = aws
    waiting_since = str(int(datetime.now(UTC).timestamp()) - PROPS.timeout_seconds - 5)
    cb.add_response(
        "list_builds_for_project", {"ids": [BUILD_ID]}, {"projectName": PROPS.project_name, "sortOrder": "DESCENDING"}
    )
    cb.add_response("batch_get_builds", {"builds": [ours()]}, {"ids": [BUILD_ID]})  # started just now
    cb.add_response("stop_build", {"build": build("STOPPED")}, {"id": BUILD_ID})
    with pytest.raises(contract.BuildFailedError, match="still running after 30 min; stopped it"):
        handler.is_complete(event(Data={"BuildId": "", "WaitingSince": waiting_since}), LambdaContext())


def test_a_promoted_image_whose_repository_does_not_exist_yet_says_what_to_deploy_in_one_line(aws):
    # A TestStack deployed before DevStack: the building environment's repository is not there either.
    _, registry, _ = aws
    registry.add_client_error(
        "describe_images",
        "RepositoryNotFoundException",
        "The repository with name 'gg-dev-api' does not exist in the registry with id '210987654321'",
    )
    with pytest.raises(contract.BuildFailedError) as failure:
        handler.on_event(event(props=PROMOTED), LambdaContext())
    message = str(failure.value)
    assert message.startswith("repository gg-dev-api is not in 210987654321's registry")
    assert "deploy the environment that builds them first" in message and "\n" not in message


def test_an_update_passes_the_tag_the_environment_runs_now_to_the_build_as_its_cache_source(aws):
    cb, registry, _ = aws
    new = contract.ImageBuildProperties(**{**PROPS.__dict__, "image_tag": "c" * 64})
    tag_absent(registry)
    request = contract.start_build_request(new, idempotency_token="5f1c2a3b-request")
    cb.add_response(
        "start_build",
        {"build": build()},
        {
            **request,
            "environmentVariablesOverride": [
                {"name": "IMAGE_TAG", "value": "c" * 64, "type": "PLAINTEXT"},
                {"name": "CLOUDFORMATION_REQUEST_ID", "value": "5f1c2a3b-request", "type": "PLAINTEXT"},
                # CloudFormation's OldResourceProperties: the tag the environment runs until this update.
                {"name": "PREVIOUS_IMAGE_TAG", "value": TAG, "type": "PLAINTEXT"},
            ],
        },
    )
    old = event()["ResourceProperties"]
    update = event("Update", props=new, PhysicalResourceId=PROPS.physical_id, OldResourceProperties=old)
    assert handler.on_event(update, LambdaContext())["Data"] == {"BuildId": BUILD_ID}


STRAY = "candidate-5d2c6f5e-0000-4000-8000-000000000001"  # left by a build stopped after put-image


def tagged_with_a_stray_candidate(registry, props: contract.ImageBuildProperties = PROPS) -> None:
    registry.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": DIGEST, "imageTags": [TAG, STRAY]}]},
        {"registryId": props.registry_id, "repositoryName": props.repository_name, "imageIds": [{"imageTag": TAG}]},
    )


def candidate_removed(registry, *, failures: list | None = None) -> None:
    registry.add_response(
        "batch_delete_image",
        {"failures": failures} if failures else {"imageIds": [{"imageTag": STRAY, "imageDigest": DIGEST}]},
        {"registryId": "123456789012", "repositoryName": "gg-dev-api", "imageIds": [{"imageTag": STRAY}]},
    )


def test_a_reused_image_that_still_carries_a_candidate_tag_loses_that_tag_only(aws):
    # The candidate lifecycle rule selects an image by any of its tags: the content tag alone must remain.
    _, registry, _ = aws
    tagged_with_a_stray_candidate(registry)
    candidate_removed(registry)  # by that tag only: never the content tag or the digest
    response = handler.on_event(event(), LambdaContext())  # no start_build scripted: the tag is reused
    assert response["Data"]["ImageDigest"] == DIGEST


def test_a_build_stopped_after_tagging_leaves_a_candidate_tag_that_is_removed_before_the_image_is_used(aws):
    cb, registry, _ = aws
    cb.add_response("batch_get_builds", {"builds": [build("STOPPED")]}, {"ids": [BUILD_ID]})
    tagged_with_a_stray_candidate(registry)
    candidate_removed(registry)
    response = handler.is_complete(event(Data={"BuildId": BUILD_ID}), LambdaContext())
    assert response["IsComplete"] is True
    assert response["Data"]["ImageDigest"] == DIGEST


def test_a_candidate_tag_that_cannot_be_removed_fails_the_deployment_in_one_line(aws):
    _, registry, _ = aws
    tagged_with_a_stray_candidate(registry)
    candidate_removed(
        registry, failures=[{"imageId": {"imageTag": STRAY}, "failureCode": "KmsError", "failureReason": "no key"}]
    )
    with pytest.raises(contract.BuildFailedError) as failure:
        handler.on_event(event(), LambdaContext())
    assert str(failure.value) == (
        f"cannot remove the tag {STRAY} from gg-dev-api:{TAG} (KmsError: no key); the candidate lifecycle rule"
        " would expire the image"
    )


def test_a_candidate_tag_another_deploy_removed_meanwhile_is_no_failure(aws):
    _, registry, _ = aws
    tagged_with_a_stray_candidate(registry)
    candidate_removed(registry, failures=[{"imageId": {"imageTag": STRAY}, "failureCode": "ImageNotFound"}])
    assert handler.on_event(event(), LambdaContext())["Data"]["ImageDigest"] == DIGEST


def test_a_promoted_image_that_still_carries_a_candidate_tag_is_refused_not_changed(aws):
    # The promoted environment may not write to the building one's registry; its deploy removes the tag.
    _, registry, _ = aws
    tagged_with_a_stray_candidate(registry, PROMOTED)  # no batch_delete_image scripted: the Stubber would refuse it
    with pytest.raises(contract.BuildFailedError, match="deploy the environment that builds it first") as failure:
        handler.on_event(event(props=PROMOTED), LambdaContext())
    assert str(failure.value).startswith(f"image gg-dev-api:{TAG} still carries the tag {STRAY}")
    assert "\n" not in str(failure.value)
