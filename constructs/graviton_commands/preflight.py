"""`make deploy` / `make diff`'s check before `cdk deploy`/`cdk diff`: credentials, region, account and bootstrap.

Reads the stack's bootstrap needs from the synthesized cloud assembly (`cdk.out/manifest.json`: the stack's and its
asset manifest's `requiresBootstrapStackVersion` and `bootstrapStackVersionSsmParameter`), then asks AWS with the
caller's credentials: STS for the account, SSM for the bootstrap version the `CDKToolkit` stack records. Exits 0 when
CDK can deploy, or 2 with one `preflight: ` line on stderr naming what is missing and what to run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graviton_commands import aws
from graviton_commands.cli import CommandParser, Refusal

PREFIX = "preflight"
DEFAULT_ASSEMBLY = "cdk.out"
# The stack `cdk bootstrap` creates, and the qualifier it uses unless given --qualifier.
TOOLKIT_STACK = "CDKToolkit"
DEFAULT_QUALIFIER = "hnb659fds"


@dataclass(frozen=True)
class BootstrapNeeds:
    """What a stack needs of its account's bootstrap: at least `version`, as recorded in SSM `parameter`."""

    stack: str
    version: int
    parameter: str

    @property
    def qualifier(self) -> str:
        """`/cdk-bootstrap/<qualifier>/version` -> the qualifier."""
        parts = self.parameter.strip("/").split("/")
        return parts[1] if len(parts) == 3 else DEFAULT_QUALIFIER

    def bootstrap_command(self, account: str, region: str) -> str:
        qualifier = "" if self.qualifier == DEFAULT_QUALIFIER else f" --qualifier {self.qualifier}"
        return f"npx cdk bootstrap aws://{account}/{region}{qualifier}"


def bootstrap_needs(assembly: Path, stack: str) -> BootstrapNeeds:
    """The highest bootstrap version the stack's artifact and its asset manifests require, from the assembly."""
    manifest_file = assembly / "manifest.json"
    try:
        artifacts: dict[str, Any] = json.loads(manifest_file.read_text())["artifacts"]
    except (OSError, ValueError, KeyError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not a cloud assembly manifest"
        raise Refusal(f"cannot read {manifest_file}: {reason}; run make synth first") from None
    stacks = {name: a for name, a in artifacts.items() if a.get("type") == "aws:cloudformation:stack"}
    matching = [
        artifact
        for name, artifact in stacks.items()
        if stack in {name, artifact.get("displayName"), artifact.get("properties", {}).get("stackName")}
    ]
    if len(matching) != 1:
        found = sorted(artifact.get("displayName", name) for name, artifact in stacks.items())
        raise Refusal(f"stack '{stack}' is not in {manifest_file}; stacks there: {', '.join(found) or 'none'}")
    [artifact] = matching
    # The template and the assets are published before the deploy: each checks the bootstrap version it needs.
    parts = [artifact, *(artifacts.get(dependency, {}) for dependency in artifact.get("dependencies", []))]
    needed = [
        (int(properties["requiresBootstrapStackVersion"]), properties.get("bootstrapStackVersionSsmParameter"))
        for part in parts
        if "requiresBootstrapStackVersion" in (properties := part.get("properties", {}))
    ]
    if not needed:  # a legacy synthesizer: nothing is checked by CDK either
        return BootstrapNeeds(stack, 0, "")
    version, parameter = max(needed, key=lambda need: need[0])
    return BootstrapNeeds(stack, version, parameter or f"/cdk-bootstrap/{DEFAULT_QUALIFIER}/version")


def check_bootstrap(ssm: Any, needs: BootstrapNeeds, account: str, region: str) -> str | None:
    """Refused when the bootstrap is missing or too old; a note (returned) when the caller may not read it."""
    if not needs.version:
        return None
    from botocore.exceptions import ClientError

    command = needs.bootstrap_command(account, region)
    try:
        value = ssm.get_parameter(Name=needs.parameter)["Parameter"]["Value"]
    except ClientError as err:
        code = err.response["Error"].get("Code", "")
        if code == "ParameterNotFound":
            raise Refusal(
                f"aws://{account}/{region} is not bootstrapped (no SSM parameter {needs.parameter} from the"
                f" {TOOLKIT_STACK} stack); run: {command}"
            ) from None
        if code in {"AccessDenied", "AccessDeniedException"}:
            # CDK reads it through the bootstrap's deploy role, which these credentials may still assume.
            return f"cannot read {needs.parameter} ({code}); cdk checks the bootstrap version itself"
        raise
    try:
        found = int(value)
    except ValueError:
        found = 0
    if found < needs.version:
        raise Refusal(
            f"the {TOOLKIT_STACK} bootstrap in aws://{account}/{region} is version {value}"
            f" ({needs.parameter}) but {needs.stack} needs at least {needs.version}; run: {command}"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        prog="python -m graviton_commands.preflight", description=__doc__.splitlines()[0], prefix=PREFIX
    )
    parser.add_argument("--env", required=True, help="an environment configured in cdk.json: dev, test or prod")
    parser.add_argument("--stack", required=True, help="the stack cdk deploys, as in the assembly: DevStack")
    parser.add_argument(
        "--assembly",
        type=Path,
        default=Path(DEFAULT_ASSEMBLY),
        help=f"the synthesized app (default: {DEFAULT_ASSEMBLY})",
    )
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    from graviton_commands.settings import configured, read_settings

    try:
        settings, _ = configured(read_settings(args.root, args.context).config, environment=args.env)
        needs = bootstrap_needs(args.root / args.assembly, args.stack)
        connection = aws.connect(
            args.env,
            region=settings.region,
            account=settings.account,
            purpose="the deploy's preflight needs",
            connect_timeout=10,
            read_timeout=30,
        )
        note = check_bootstrap(connection.client("ssm"), needs, connection.account, connection.region)
    except Refusal as err:
        print(f"{PREFIX}: {err}", file=sys.stderr)
        return 2
    except aws.client_errors() as err:
        print(f"{PREFIX}: {aws.aws_error(err)}", file=sys.stderr)
        return 2
    if note:
        print(f"{PREFIX}: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
