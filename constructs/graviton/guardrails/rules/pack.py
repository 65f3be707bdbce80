"""The guard's rule pack: every rule by id."""

from __future__ import annotations

from graviton.guardrails.rules import (
    Rule,
    app_runner,
    batch_job_platform,
    codebuild_environment,
    dockerfile_platform,
    ec2_instance_types,
    ecs_fargate_platform,
    eks_nodegroup,
    elastic_beanstalk_instances,
    emr_serverless_architecture,
    image_asset_platform,
    lambda_architecture,
    lambda_asset_machine,
    lambda_layer_arns,
    managed_data_classes,
    x86_only_services,
)

RULES: tuple[Rule, ...] = tuple(
    module.RULE
    for module in (
        lambda_architecture,
        image_asset_platform,
        dockerfile_platform,
        codebuild_environment,
        ecs_fargate_platform,
        eks_nodegroup,
        ec2_instance_types,
        elastic_beanstalk_instances,
        app_runner,
        batch_job_platform,
        emr_serverless_architecture,
        x86_only_services,
        managed_data_classes,
        lambda_asset_machine,
        lambda_layer_arns,
    )
)
PACK: dict[str, Rule] = {rule.id: rule for rule in RULES}
EXPLANATIONS: dict[str, str] = {rule.id: rule.explanation for rule in RULES}
