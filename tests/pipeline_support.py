"""Reading PipelineStack's template: its stages, actions, CodeBuild projects and the verify steps' reads."""

from __future__ import annotations

import json

V2_FLAG = "@aws-cdk/aws-codepipeline:defaultPipelineTypeToV2"


def stage(pipeline: dict, name: str) -> list[dict]:
    return next(s["Actions"] for s in pipeline["Stages"] if s["Name"] == name)


def provider(action: dict) -> str:
    return action["ActionTypeId"]["Provider"]


def project_of(template_json: dict, action: dict) -> dict:
    """The CodeBuild project a CodeBuild action runs (the action names it with a Ref)."""
    return template_json["Resources"][action["Configuration"]["ProjectName"]["Ref"]]["Properties"]


def buildspec(project: dict) -> dict:
    return json.loads(project["Source"]["BuildSpec"])


def joined(value) -> str:
    """An ARN as the template writes it, pseudo parameters as `${AWS::Region}`."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(joined(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"${{{value['Ref']}}}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"${{{'.'.join(value['Fn::GetAtt'])}}}"
    return value


def role_statements(template_json: dict, project: dict) -> list[dict]:
    """The statements of the policies attached to a project's service role."""
    role = project["ServiceRole"]["Fn::GetAtt"][0]
    return [
        statement
        for resource in template_json["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def verify_reads_of(template_json: dict, project: dict) -> dict[str, list[str]]:
    """The verify step's own read statements: action -> resources (ARNs joined); CDK's grants on the project's
    logs, report groups and artifact bucket are left out."""
    reads: dict[str, list[str]] = {}
    for statement in role_statements(template_json, project):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        arns = [joined(r) for r in resources]
        if any(":report-group/" in arn for arn in arns):
            continue
        for action in actions:
            if action.split(":")[0] in {"cloudformation", "lambda", "ecr", "ecs", "ec2", "codebuild"}:
                reads.setdefault(action, []).extend(arns)
    return {action: sorted(resources) for action, resources in reads.items()}


def verify_action(pipeline: dict, stage_name: str) -> dict:
    (verify,) = [a for a in stage(pipeline, stage_name) if provider(a) == "CodeBuild"]
    return verify
