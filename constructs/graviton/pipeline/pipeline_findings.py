"""cdk-nag and cfn-lint findings on what CDK Pipelines creates, acknowledged one at a time, each scoped to the
pipeline's own resources."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack, Token, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

from constructs import Construct
from graviton import checkov
from graviton.cfn_lint import skip_cfn_lint_rule
from graviton.nag import acknowledge, arn, logical_id

# CDK Pipelines' own grants on the artifact bucket (and its key), written into every role it creates.
_ARTIFACT_ACTIONS = {
    "s3:GetBucket*": "reads the pipeline's own artifact bucket (CDK Pipelines' grant)",
    "s3:GetObject*": "reads artifacts from the pipeline's own artifact bucket (CDK Pipelines' grant)",
    "s3:List*": "lists the pipeline's own artifact bucket (CDK Pipelines' grant)",
    "s3:Abort*": "aborts its own multipart uploads to the pipeline's artifact bucket (CDK Pipelines' grant)",
    "s3:DeleteObject*": "replaces artifacts in the pipeline's own artifact bucket (CDK Pipelines' grant)",
}
# With cross_account_keys only: the artifact bucket's own customer key.
_ARTIFACT_KEY_ACTIONS = {
    "kms:GenerateDataKey*": "data keys from the pipeline's own artifact key only (cross-account deploys)",
    "kms:ReEncrypt*": "re-encryption with the pipeline's own artifact key only (cross-account deploys)",
}

# cfn-lint rules that the resources CDK Pipelines writes fail, by resource type: rule -> why it is skipped on them.
CFN_LINT_EXCEPTIONS: dict[str, dict[str, str]] = {
    codepipeline.CfnPipeline.CFN_RESOURCE_TYPE_NAME: {
        "E3703": (
            "CDK Pipelines writes each CloudFormation deploy action's RoleArn (the bootstrap cfn-exec-role) with"
            " Fn::Join; E3703 re-checks that RoleArn and reports cfn-lint's informational I1022 ('Prefer using"
            " Fn::Sub over Fn::Join') as its own error. I1022 itself is off for templates cfn-lint recognises as"
            " CDK's, by the aws:cdk:path metadata cdk synth adds."
        ),
    },
}


def skip_cfn_lint_findings(pipeline: pipelines.CodePipeline) -> None:
    """Skip each rule of CFN_LINT_EXCEPTIONS on the pipeline's own resources of its type, and nowhere else.

    Call after `build_pipeline()`: the resources exist only then.
    """
    for node in pipeline.node.find_all():
        if isinstance(node, CfnResource):
            for rule, reason in CFN_LINT_EXCEPTIONS.get(node.cfn_resource_type, {}).items():
                skip_cfn_lint_rule(node, rule, reason)


def acknowledge_pipeline_findings(pipeline: pipelines.CodePipeline) -> None:
    """cdk-nag findings on what CDK Pipelines creates, one at a time, each scoped to the pipeline's own resources.

    Call after `build_pipeline()`: the roles, projects and grants exist only then.
    """
    bucket = pipeline.pipeline.artifact_bucket
    acknowledge(
        bucket,
        "S1",
        "holds the pipeline's intermediate artifacts only; every access is by the pipeline's roles, in CloudTrail",
    )
    checkov.skip(
        bucket,
        "CKV_AWS_18",
        "holds the pipeline's intermediate artifacts only; every access is by the pipeline's roles, in CloudTrail",
    )
    checkov.skip(
        bucket,
        "CKV_AWS_21",
        "CodePipeline writes each run's artifacts under new keys and never overwrites one; the source stays in git",
    )
    artifacts = f"IAM5[Resource::<{logical_id(bucket.node.default_child)}.Arn>/*]"
    actions = {**_ARTIFACT_ACTIONS, **(_ARTIFACT_KEY_ACTIONS if bucket.encryption_key else {})}
    for policy in (node for node in pipeline.node.find_all() if isinstance(node, iam.Policy)):
        for action, reason in actions.items():
            acknowledge(policy, f"IAM5[Action::{action}]", reason)
        acknowledge(policy, artifacts, "objects of the pipeline's own artifact bucket only")
    for project in (node for node in pipeline.node.find_all() if isinstance(node, codebuild.Project)):
        if bucket.encryption_key is None:
            acknowledge(
                project,
                "CB4",
                "artifacts are encrypted with the AWS-managed aws/s3 key; CDK Pipelines creates a customer key only"
                " when an environment is in another account (cross_account_keys)",
            )
        _acknowledge_project_logs(project)
    _acknowledge_self_mutation(pipeline.self_mutation_project)
    assets = pipeline.node.try_find_child("Assets")  # only when some stage has file assets
    file_role = assets.node.try_find_child("FileRole") if assets else None
    if file_role is not None:
        _acknowledge_asset_publishing(file_role.node.find_child("DefaultPolicy"))
        checkov.skip(
            file_role.node.find_child("DefaultPolicy"),
            "CKV_AWS_111",
            "codebuild:StartBuild/BatchGetBuilds/StopBuild on *: CDK Pipelines' grant to the role every"
            " asset-publishing project shares",
        )


def _acknowledge_project_logs(project: codebuild.Project) -> None:
    """The log group and report groups CodeBuild names after the project, on the project's own role."""
    policy = project.role.node.try_find_child("DefaultPolicy") if project.role else None
    if policy is None:
        return
    name = logical_id(project.node.default_child)
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(project, 'logs', f'log-group:/aws/codebuild/<{name}>:*')}]",
        "log streams of this project's default CodeBuild log group",
    )
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(project, 'codebuild', f'report-group/<{name}>-*')}]",
        "report groups named after this project only",
    )


def _acknowledge_self_mutation(project: codebuild.IProject) -> None:
    """What `cdk deploy PipelineStack` needs inside the pipeline: its stack's state and the bootstrap roles."""
    policy = project.role.node.find_child("DefaultPolicy")
    acknowledge(
        policy,
        "IAM5[Resource::*]",
        "cloudformation:DescribeStacks and s3:ListBucket, which self-mutation calls to find its stack and the"
        " bootstrap bucket",
    )
    acknowledge(
        policy,
        f"IAM5[Resource::arn:*:iam::{_account(project)}:role/*]",
        "assumes only roles tagged aws-cdk:bootstrap-role (deploy, file- and image-publishing) in this account",
    )


def _acknowledge_asset_publishing(policy: iam.Policy) -> None:
    """One role shared by every asset-publishing project, so CDK Pipelines grants it per account, not project."""
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(policy, 'logs', 'log-group:/aws/codebuild/*')}]",
        "log streams of the asset-publishing projects, which share this role",
    )
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(policy, 'codebuild', 'report-group/*')}]",
        "report groups of the asset-publishing projects, which share this role",
    )
    acknowledge(
        policy,
        "IAM5[Resource::*]",
        "codebuild:StartBuild/BatchGetBuilds/StopBuild that CDK Pipelines grants the shared asset-publishing role",
    )


def _account(scope: Construct) -> str:
    account = Stack.of(scope).account
    return "<AWS::AccountId>" if Token.is_unresolved(account) else account
