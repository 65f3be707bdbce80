"""What the audit tests share: the hand-written templates, and a cloud assembly written by hand."""

from __future__ import annotations

import json
from pathlib import Path

from support import ROOT

TEMPLATES = ROOT / "tests" / "fixtures" / "templates"
X86_FUNCTION = {"Type": "AWS::Lambda::Function", "Properties": {"PackageType": "Image"}}


def write_assembly(folder: Path, stack: str = "LegacyStack") -> Path:
    """A cdk.out as CDK writes it, by hand: manifest.json naming one stack artifact, and its template with the
    construct path CDK records, holding one x86 function."""
    folder.mkdir(parents=True)
    artifact = {"type": "aws:cloudformation:stack", "properties": {"templateFile": f"{stack}.template.json"}}
    manifest = {"version": "48.0.0", "artifacts": {stack: artifact, "Tree": {"type": "cdk:tree"}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    function = {**X86_FUNCTION, "Metadata": {"aws:cdk:path": f"{stack}/Handler/Resource"}}
    (folder / f"{stack}.template.json").write_text(json.dumps({"Resources": {"Handler": function}}))
    return folder
