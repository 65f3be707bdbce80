"""The source action's right to use its CodeConnections connection, under both service prefixes."""

from __future__ import annotations

from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam

# CDK grants the first only. Connections now live under the `codeconnections` prefix (ARNs of either kind name the
# same connection), and AWS asks policies to allow both actions.
USE_CONNECTION_ACTIONS = ("codestar-connections:UseConnection", "codeconnections:UseConnection")
CONNECTION_SOURCE_PROVIDER = "CodeStarSourceConnection"


def grant_connection_use(pipeline: codepipeline.Pipeline, *, connection_arn: str) -> None:
    """Let every CodeConnections source action of the built `pipeline` use `connection_arn` with both actions.

    The action's role is the one the pipeline made for it (`<stage>/<action>/CodePipelineActionRole`): the action
    itself holds no role when none was given to it.
    """
    roles: list[iam.IRole] = []
    for stage in pipeline.stages:
        for action in stage.actions:
            if action.action_properties.provider != CONNECTION_SOURCE_PROVIDER:
                continue
            role: object = action.action_properties.role
            if role is None:
                scope = pipeline.node.find_child(stage.stage_name).node.find_child(action.action_properties.action_name)
                role = scope.node.try_find_child("CodePipelineActionRole")
            if not isinstance(role, iam.Role):
                raise ValueError(
                    f"grant_connection_use: no role found for source action {action.action_properties.action_name}"
                )
            roles.append(role)
    if not roles:
        raise ValueError("grant_connection_use: the pipeline has no CodeConnections source action")
    for source_role in roles:
        source_role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(USE_CONNECTION_ACTIONS), resources=[connection_arn])
        )
