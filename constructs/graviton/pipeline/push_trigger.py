"""The CodePipeline V2 push trigger CDK Pipelines has no prop for."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_codepipeline as codepipeline


def add_push_trigger(pipeline: codepipeline.Pipeline, *, branch: str, file_paths: Sequence[str] = ()) -> None:
    """A V2 trigger on the source action: pushes to `branch` (touching `file_paths`, when given) start the run.

    Call after `build_pipeline()`: CDK Pipelines creates the source action only then.
    """
    source_action = pipeline.stages[0].actions[0]
    push = codepipeline.GitPushFilter(branches_includes=[branch], file_paths_includes=list(file_paths) or None)
    pipeline.add_trigger(
        provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
        git_configuration=codepipeline.GitConfiguration(source_action=source_action, push_filter=[push]),
    )
