"""PipelineStack: CDK Pipelines that deploys dev, test and prod on push, all on Graviton, verifying each."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack, pipelines
from aws_cdk import aws_codepipeline as codepipeline

from constructs import Construct
from graviton import PipelineNotifications
from graviton.pipeline.arm_code_build import arm_code_build_options
from graviton.pipeline.asset_publishing import asset_publishing_options
from graviton.pipeline.connection_access import grant_connection_use
from graviton.pipeline.pipeline_findings import acknowledge_pipeline_findings, skip_cfn_lint_findings
from graviton.pipeline.push_trigger import add_push_trigger
from graviton.pipeline.verify_step import (
    Location,
    VerifyReads,
    acknowledge_verify_findings,
    verify_reads,
    verify_step,
)
from graviton_app import naming
from graviton_app.config import AppConfig, ConfigError
from graviton_app.pins import pinned_npm_version, pinned_requirement
from graviton_app.placement import environment_placement, needs_cross_account_keys, placement_problem, verifies_in_aws
from stacks.environment_stack import EnvironmentOutputs
from stacks.environment_stage import EnvironmentStage

# The same command a developer runs: it sets up .venv and the pinned CDK CLI from the repository itself.
SYNTH_COMMAND = "make synth"
# The verification, run from the source checkout as a module of the commands layer.
VERIFY_COMMAND = "PYTHONPATH=constructs python3 -m graviton_commands.verify"
# What its AWS checks need besides the standard library (the settings loader and boto3), at the pinned versions.
VERIFY_PACKAGES = ("boto3", "pydantic")
# What the asset projects' `cdk-assets` runs on, at package.json's pins: the publishing library, and the schema
# reader for the cloud-assembly version aws-cdk-lib writes (cdk-assets, which CDK Pipelines installs too, is older).
ASSET_PUBLISHER_PACKAGES = ("@aws-cdk/cdk-assets-lib", "@aws-cdk/cloud-assembly-schema")


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
        assert config.pipeline_repository and config.pipeline_connection_arn  # pipeline_missing says so
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
            cli_version=pinned_npm_version(root / "package.json", "aws-cdk"),
            cdk_assets_cli_version=pinned_npm_version(root / "package.json", "cdk-assets"),
            cross_account_keys=cross_account,
            # One publishing project per asset type, not per asset: every service's build context (and, in nested
            # stacks, its template) is an asset in every environment.
            publish_assets_in_parallel=False,
            enable_key_rotation=cross_account or None,
            code_build_defaults=arm_code_build_options(pin_runtimes=True),
            synth_code_build_defaults=arm_code_build_options(),
            self_mutation_code_build_defaults=arm_code_build_options(),
            asset_publishing_code_build_defaults=asset_publishing_options(
                packages=[f"{p}@{pinned_npm_version(root / 'package.json', p)}" for p in ASSET_PUBLISHER_PACKAGES]
            ),
        )
        self.stages: dict[str, EnvironmentStage] = {}
        self.verify_steps: dict[str, pipelines.CodeBuildStep] = {}
        packages = " ".join(pinned_requirement(root / "requirements.txt", p) for p in VERIFY_PACKAGES)
        reads: dict[str, VerifyReads] = {}
        for environment in [name for name in naming.ENVIRONMENT_NAMES if name in config.environments]:
            stage = EnvironmentStage(
                self, naming.stage_id(environment), config=config, environment=environment, root=root
            )
            pre = [_prod_approval(config)] if environment == "prod" else []
            step = None
            if verifies_in_aws(config, environment):
                # In the pipeline's account every check runs with read access to what it checks; verify reads
                # the endpoints from the stack's outputs itself.
                reads[environment] = _verify_reads(self, config, environment)
                step = verify_step(
                    source=source,
                    reads=reads[environment],
                    install_commands=[f"python3 -m pip install --quiet {packages}"],
                    commands=[f"{VERIFY_COMMAND} --env {environment}"],
                )
            else:
                step = _endpoints_only_step(source, config, environment, stage.stack.outputs)
            self.pipeline.add_stage(stage, pre=pre, post=[step] if step else [])
            self.stages[environment] = stage
            if step:
                self.verify_steps[environment] = step
        self.pipeline.build_pipeline()
        grant_connection_use(self.pipeline.pipeline, connection_arn=config.pipeline_connection_arn)
        for name, environment_reads in reads.items():
            acknowledge_verify_findings(self.verify_steps[name], environment_reads)
        add_push_trigger(self.pipeline.pipeline, branch=config.pipeline_branch, file_paths=config.pipeline_file_paths)
        self.notifications = PipelineNotifications(self, "Notifications", pipeline=self.pipeline.pipeline)
        acknowledge_pipeline_findings(self.pipeline)
        skip_cfn_lint_findings(self.pipeline)
        # What the README's commands read: start a run by hand, subscribe to failures.
        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline.pipeline_name)
        CfnOutput(self, "FailureTopicArn", value=self.notifications.topic.topic_arn)


def _verify_reads(scope: Construct, config: AppConfig, environment: str) -> VerifyReads:
    """Read access to the environment's stack and to the repositories its images come from (the building
    environment's, for a promoted one)."""
    building = config.environment(environment).images_from or environment
    here, there = environment_placement(config, environment), environment_placement(config, building)
    return verify_reads(
        scope,
        stack_name=naming.stack_name(environment),
        repository_names=[naming.repository_name(config.project, building, s.name) for s in config.services],
        stack_location=Location(account=here.account, region=here.region),
        repository_location=Location(account=there.account, region=there.region),
    )


def _endpoints_only_step(
    source: pipelines.IFileSetProducer, config: AppConfig, environment: str, outputs: EnvironmentOutputs
) -> pipelines.CodeBuildStep | None:
    """The environment is in another account: the pipeline's role cannot read its stack, functions or images (that
    would need a role there to assume), so only its endpoints are asked, with the standard library: each service's
    URL is its target's base URL output (a variable) and its path, or its fixed host URL. Check the rest with
    `make verify ENV=<env>` and that account's credentials. None when it has no endpoint."""
    endpoints = config.endpoints(environment)
    if not endpoints:
        return None
    urls = " ".join(f'--url "{endpoint.label}={endpoint.shell_url()}"' for endpoint in endpoints)
    used = {endpoint.base_output for endpoint in endpoints if not endpoint.fixed_url}
    return verify_step(
        source=source,
        env_from_outputs={
            naming.base_url_variable(key): output for key, output in outputs.base_urls.items() if key in used
        },
        commands=[f"{VERIFY_COMMAND} --env {environment} --no-aws {urls}"],
    )


def _prod_approval(config: AppConfig) -> pipelines.ManualApprovalStep:
    before = [name for name in naming.ENVIRONMENT_NAMES if name in config.environments and name != "prod"]
    verified = f"; {' and '.join(before)} passed the arm64 verification" if before else ""
    return pipelines.ManualApprovalStep("ApproveProd", comment=f"Deploy {config.project} to prod{verified}.")
