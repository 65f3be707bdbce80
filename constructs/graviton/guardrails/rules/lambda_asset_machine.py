"""GG-ELF: native code inside a Lambda function's or layer's file asset is built for aarch64.

Bundling wheels or npm packages on an x86 laptop puts x86-64 `.so` files into an arm64 function's zip: the
template says arm64 and the function fails at import in AWS. The bytes decide, not the labels.
"""

from __future__ import annotations

import re
from pathlib import Path

from graviton.guardrails.elf import foreign_binaries
from graviton.guardrails.rules import NOT_APPLICABLE, Resource, Rule, Verdict, compliant, violation

CODE_TYPES = (
    "AWS::Lambda::Function",
    "AWS::Lambda::LayerVersion",
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
)
SHOWN = 3  # files named in the finding; the count says how many more
# Native files that are optional accelerators with a pure-Python fallback, in CDK's own layers only: the AWS CLI
# layer of BucketDeployment carries PyYAML's x86-64 libyaml binding, and PyYAML imports its pure-Python loader
# when that binding fails to load, so the layer works on arm64.
OPTIONAL_IN_CDK_LAYERS = {"/AwsCliLayer/Resource": re.compile(r"awscli/yaml/_yaml\.[^/]+\.so")}


def check(resource: Resource) -> Verdict:
    if resource.type not in CODE_TYPES or not resource.code_assets:
        return NOT_APPLICABLE
    optional = next((p for marker, p in OPTIONAL_IN_CDK_LAYERS.items() if resource.path.endswith(marker)), None)
    found = [
        f"{Path(asset).name}/{inside} is {machine}"
        for asset in resource.code_assets
        for inside, machine in foreign_binaries(asset)
        if not (optional and optional.fullmatch(inside))
    ]
    if not found:
        return compliant("no native code for another machine")
    more = f" (and {len(found) - SHOWN} more)" if len(found) > SHOWN else ""
    return violation("; ".join(found[:SHOWN]) + more)


RULE = Rule(
    id="GG-ELF",
    title="Native code in Lambda assets is aarch64",
    explanation="Every ELF file in a Lambda function's or layer's file asset (folders, .zip and .jar files, "
    "archives inside them) is read by its header; one built for another machine (x86-64, i386, ...) fails.",
    fix="bundle on arm64: pip install --platform manylinux2014_aarch64 --only-binary=:all:, or build the asset "
    "in an ARM CodeBuild project or a linux/arm64 bundling image",
    applies_to=CODE_TYPES,
    check=check,
    cfn_fix="rebuild the code package with aarch64 native files (pip install --platform manylinux2014_aarch64 "
    "--only-binary=:all:)",
)
