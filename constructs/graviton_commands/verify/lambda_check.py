"""Lambda functions: every AWS::Lambda::Function of the stack must declare `Architectures` exactly ["arm64"].

Lambda's default is x86_64, so a function that forgets the setting silently runs on Intel; an image function that
runs on arm64 also needs an arm64 image, so the images functions run are recorded for the image check.
"""

from __future__ import annotations

from graviton_commands.aws import aws_error, client_errors
from graviton_commands.verify.model import CANNOT_CHECK, OK, WRONG, Row
from graviton_commands.verify.stack import Aws

CHECK_LAMBDA = "Lambda function"
EXPECTED_LAMBDA = ["arm64"]


def lambda_rows(aws: Aws) -> list[Row]:
    """Every function of the stack: `Architectures` must be exactly ["arm64"] (Lambda's default is x86_64)."""
    names = aws.physical_ids("AWS::Lambda::Function")
    aws.progress(f"{len(names)} Lambda function(s)")
    client = aws.client("lambda")
    rows = []
    for name in names:
        try:
            function = client.get_function(FunctionName=name)
        except client_errors() as err:
            rows.append(Row(CHECK_LAMBDA, name, EXPECTED_LAMBDA[0], "-", CANNOT_CHECK, aws_error(err)))
            continue
        architectures = function["Configuration"].get("Architectures") or ["x86_64"]
        found = ",".join(architectures)
        code = function.get("Code", {})
        if code.get("ImageUri"):
            aws.refer(code["ImageUri"], f"{CHECK_LAMBDA} {name}", resolved=code.get("ResolvedImageUri"))
        ok = architectures == EXPECTED_LAMBDA
        rows.append(Row(CHECK_LAMBDA, name, EXPECTED_LAMBDA[0], found, OK if ok else WRONG, "" if ok else _fix(found)))
    return rows


def _fix(found: str) -> str:
    return f"runs on {found}; deploy it with architecture=lambda_.Architecture.ARM_64"
