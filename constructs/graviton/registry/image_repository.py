"""The ECR repository that holds one service's arm64 images in one environment."""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import Aws, Duration, IStableListProducer, Lazy, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam

from constructs import Construct, IValidation
from graviton import checkov
from graviton.constants import CANDIDATE_IMAGE_DAYS, UNTAGGED_IMAGE_DAYS
from graviton.image_build.runtime.image_build_contract import CANDIDATE_TAG_PREFIX

# Every action that writes an image; denied to all but the registered build roles.
PUSH_ACTIONS = ("ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload")
# The layer uploads alone: re-tagging roles (`allow_retag_from`) put manifests of layers already in the repository.
UPLOAD_ACTIONS = tuple(action for action in PUSH_ACTIONS if action != "ecr:PutImage")
# What re-tagging an image takes: read its manifest and tags, put it under another tag, remove tags.
RETAG_ACTIONS = ("ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage", "ecr:BatchDeleteImage")
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


class ImageRepository(Construct):
    """An ECR repository that only its arm64 builds can push to.

    Scan on push, immutable tags, KMS encryption (the aws/ecr key), lifecycle rules, and a repository policy that denies
    every push action to every principal except the roles given to `allow_push_from` (the ArmImageBuild
    roles). With no such role, nobody can push: synth refuses that repository. Roles given to `allow_retag_from`
    (the registry gatekeeper's) are exempt for `ecr:PutImage` only: they may tag images already in the repository,
    never upload layers.

    Lifecycle rules expire untagged images and the builds' `candidate-*` images only. A content-tagged image never
    expires, by count or age: any environment may run it, promoted ones included, long after newer builds.

    :param repository_name: the repository's name, `<project>-<environment>-<service>`.
    :param pull_accounts: other accounts whose environments run these images (promotion): they may pull and
        look tags up, and their Lambda functions may pull (default: none).
    :param retain: keep the repository and its images when the stack is deleted or an update removes it
        (default: False, the repository is emptied and removed with its stack). Either way, a first create that
        rolls back empties and removes it.
    :param adopting: this deploy imports the existing repository of that name (default: False). An import brings
        a resource under the stack as it is and writes none of its settings, so the policy is left out of this
        deploy's template; the next deploy, without it, then applies the policy as an update.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repository_name: str,
        pull_accounts: Sequence[str] = (),
        retain: bool = False,
        adopting: bool = False,
    ) -> None:
        super().__init__(scope, id)
        self.repository_name = repository_name
        self._pushers: list[iam.IRole] = []
        self._retaggers: list[iam.IRole] = []
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            # A tag names one build of one source tree: it must never move to other bits.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            # KMS with the AWS-managed aws/ecr key: explicit in the template, nothing to grant for pulls.
            encryption=ecr.RepositoryEncryption.KMS,
            # Kept on delete, but not when the first create rolls back: a failed first deploy can be retried.
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if retain else RemovalPolicy.DESTROY,
            # ECR selects an image when any of its tags matches a rule, so a candidate tag must never stay on a
            # content-tagged image: the buildspec removes it, and the deploy-time handler removes one a build
            # stopped part-way left behind before any environment runs the image.
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description=f"untagged images (failed pushes) expire after {UNTAGGED_IMAGE_DAYS} days",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"build candidates expire {CANDIDATE_IMAGE_DAYS} day(s) after their push",
                    tag_status=ecr.TagStatus.TAGGED,
                    tag_prefix_list=[CANDIDATE_TAG_PREFIX],
                    max_image_age=Duration.days(CANDIDATE_IMAGE_DAYS),
                ),
            ],
        )
        # EmptyOnDelete acts only when CloudFormation deletes the repository. A retained one (RetainExceptOnCreate)
        # is deleted only when the create that made it rolls back, after a build may have pushed: it must go empty, or
        # the rollback fails. A stack delete or update never deletes it, so its images stay. (CDK's empty_on_delete
        # refuses any removal policy but DESTROY, hence the CloudFormation property.)
        repository_resource = self.repository.node.default_child
        assert isinstance(repository_resource, ecr.CfnRepository)
        repository_resource.empty_on_delete = True
        if not adopting:
            # Two Deny statements, because a condition cannot name the action: layer uploads are the builds' alone,
            # PutImage is also the re-taggers'.
            self.repository.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OnlyTheArm64BuildPushes",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=list(UPLOAD_ACTIONS),
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": Lazy.list(_PusherArns(self._pushers))}},
                )
            )
            self.repository.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="OnlyTheArm64BuildAndRetaggersPutImages",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["ecr:PutImage"],
                    conditions={
                        "ArnNotEquals": {"aws:PrincipalArn": Lazy.list(_PusherArns(self._pushers, self._retaggers))}
                    },
                )
            )
            checkov.skip(
                self.repository,
                "CKV_AWS_32",
                "the policy's statements with Principal * are Deny statements (pushes by anyone but the arm64 build);"
                " it allows no one, and pulls are granted to named accounts only",
            )
        self.node.add_validation(_HasPusher(self))
        if pull_accounts and not adopting:
            self._allow_pulls_from(sorted(set(pull_accounts)))

    def _allow_pulls_from(self, accounts: list[str]) -> None:
        """Promoted environments in other accounts: their principals pull, their Lambda service pulls for them."""
        self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PromotedEnvironmentsPull",
                principals=[iam.AccountPrincipal(account) for account in accounts],
                actions=[*PULL_ACTIONS, "ecr:DescribeImages"],
            )
        )
        self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PromotedFunctionsPull",
                principals=[iam.ServicePrincipal("lambda.amazonaws.com")],
                actions=list(PULL_ACTIONS),
                conditions={
                    "StringLike": {
                        "aws:sourceArn": [f"arn:{Aws.PARTITION}:lambda:*:{account}:function:*" for account in accounts]
                    }
                },
            )
        )

    def allow_push_from(self, role: iam.IRole) -> None:
        """Let `role` (an ArmImageBuild's) push: pull and push rights, the policy's exception, and the right
        to delete a tag it pushed that failed its checks."""
        self.repository.grant_pull_push(role)
        self.repository.grant(role, "ecr:BatchDeleteImage")
        self._pushers.append(role)

    def allow_retag_from(self, role: iam.IRole, *, grant: bool = True) -> None:
        """Let `role` (the registry gatekeeper's) re-tag images already in the repository: read a manifest and its
        tags, put it under another tag, remove tags or the image. It is exempt from the policy's Deny for
        `ecr:PutImage` only, so it can never upload a layer, and a manifest must name layers already here.

        :param grant: add RETAG_ACTIONS on this repository to the role's policy (default: True). False when the
            role's policy already allows them here by a name pattern: the role's policy then names nothing of this
            repository, which a role in a parent stack needs (see `RegistryGatekeeper`'s `repository_prefix`).
        """
        if grant:
            self.repository.grant(role, *RETAG_ACTIONS)
        self._retaggers.append(role)


@jsii.implements(IStableListProducer)
class _PusherArns:
    """The registered roles' ARNs, read when the template is written, after every build (and gatekeeper) has
    registered; a role in more than one list is named once."""

    def __init__(self, *roles: list[iam.IRole]) -> None:
        self._roles = roles

    def produce(self) -> list[str]:
        unique = {id(role): role for roles in self._roles for role in roles}
        return [role.role_arn for role in unique.values()]


@jsii.implements(IValidation)
class _HasPusher:
    """A repository no build may push to would stay empty: say so at synth."""

    def __init__(self, repository: ImageRepository) -> None:
        self._repository = repository

    def validate(self) -> list[str]:
        if self._repository._pushers:
            return []
        return [f"ImageRepository {self._repository.node.path}: no build may push to it; pass it to an ArmImageBuild"]
