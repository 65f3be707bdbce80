"""PipelineStack: CDK Pipelines that deploys dev, test and prod on push, all on Graviton, verifying each."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack, pipelines
from aws_cdk import aws_codepipeline as codepipeline

from constructs import Construct
from graviton import AppConfig, ConfigError
from graviton.constants import ENVIRONMENT_NAMES
from graviton.pipeline import (
    PipelineNotifications,
    VerifyReads,
    acknowledge_pipeline_findings,
    acknowledge_verify_findings,
    add_push_trigger,
    arm_code_build_options,
    needs_cross_account_keys,
    pinned_cli_version,
    pinned_requirement,
    placement_problem,
    verifies_in_aws,
    verify_reads,
    verify_step,
)
from stacks.environment_stage import EnvironmentStage

# The same command a developer runs: it sets up .venv and the pinned CDK CLI from the repository itself.
SYNTH_COMMAND = "make synth"


class PipelineStack(Stack):
    """Source (CodeConnections, V2 push trigger) -> synth -> self-mutation -> assets -> Dev -> Test -> Prod.

    Every CodeBuild project is ARM; each environment is verified after its deploy, and prod waits for an approval.
    """

    def __init__(self, scope: Construct, id: str, *, config: AppConfig, root: Path, **kwargs) -> None:
        kwargs.setdefault("description", f"{config.project}: delivery pipeline on Graviton CodeBuild")
        super().__init__(scope, id, **kwargs)
        if config.pipeline_missing:
            raise ConfigError(f"cdk.json: PipelineStack needs {', '.join(map(repr, config.pipeline_missing))}")
        problem = placement_problem(config)
        if problem:
            raise ConfigError(problem)
        source = pipelines.CodePipelineSource.connection(
            config.pipeline_repository,
            config.pipeline_branch,
            connection_arn=config.pipeline_connection_arn,
            trigger_on_push=False,  # the V2 trigger below starts runs, with its branch and file filters
        )
        cross_account = needs_cross_account_keys(config)
        synth = pipelines.ShellStep("Synth", input=source, commands=[SYNTH_COMMAND], primary_output_directory="cdk.out")
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            synth=synth,
            cli_version=pinned_cli_version(root),
            cdk_assets_cli_version=pinned_cli_version(root, "cdk-assets"),
            cross_account_keys=cross_account,
            enable_key_rotation=cross_account or None,
            code_build_defaults=arm_code_build_options(pin_runtimes=True),
            synth_code_build_defaults=arm_code_build_options(),
            self_mutation_code_build_defaults=arm_code_build_options(),
            asset_publishing_code_build_defaults=arm_code_build_options(),
        )
        self.stages: dict[str, EnvironmentStage] = {}
        self.verify_steps: dict[str, pipelines.CodeBuildStep] = {}
        boto3_requirement = pinned_requirement(root, "boto3")
        reads: dict[str, VerifyReads] = {}
        for environment in (name for name in ENVIRONMENT_NAMES if name in config.environments):
            stage = EnvironmentStage(self, environment.capitalize(), config=config, environment=environment, root=root)
            pre = [_prod_approval(config)] if environment == "prod" else []
            # In the pipeline's account every check runs; in another, only GET /arch (see verify_step).
            if verifies_in_aws(config, environment):
                reads[environment] = verify_reads(self, config, environment)
            step = verify_step(
                environment,
                source=source,
                url_outputs=stage.stack.url_outputs,
                reads=reads.get(environment),
                boto3_requirement=boto3_requirement,
            )
            self.pipeline.add_stage(stage, pre=pre, post=[step] if step else [])
            self.stages[environment] = stage
            if step:
                self.verify_steps[environment] = step
        self.pipeline.build_pipeline()
        for environment, environment_reads in reads.items():
            acknowledge_verify_findings(self.verify_steps[environment], environment_reads)
        add_push_trigger(self.pipeline.pipeline, branch=config.pipeline_branch, file_paths=config.pipeline_file_paths)
        self.notifications = PipelineNotifications(self, "Notifications", pipeline=self.pipeline.pipeline)
        acknowledge_pipeline_findings(self.pipeline)
        # What the README's commands read: start a run by hand, subscribe to failures.
        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline.pipeline_name)
        CfnOutput(self, "FailureTopicArn", value=self.notifications.topic.topic_arn)


def _prod_approval(config: AppConfig) -> pipelines.ManualApprovalStep:
    before = [name for name in ENVIRONMENT_NAMES if name in config.environments and name != "prod"]
    verified = f"; {' and '.join(before)} passed the arm64 verification" if before else ""
    return pipelines.ManualApprovalStep("ApproveProd", comment=f"Deploy {config.project} to prod{verified}.")
