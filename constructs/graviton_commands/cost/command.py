"""`python -m graviton_commands.cost [CDK_OUT] [--json]`: what Graviton saves, per environment and per resource.

Reads the environment stacks `make synth` wrote (`cdk.out`, stage assemblies included), the monthly `usage`
assumptions of each environment in cdk.json and the price table `prices.json`, and prints the monthly cost of
every priced resource on arm64 beside the same on x86, the saving, and totals per environment and overall. It
also writes a bar chart of both per environment (`CDK_OUT/cost.svg`).

This module is only the command line; the work is in the package's other modules: `prices` (the price table),
`usage` (cdk.json's assumptions), `workloads` (which resources cost), `pricing` (one price model per kind),
`report` (splitting usage and pricing each share), and `render_text`, `render_svg`, `render_json`.

Exit 0 with the report, 2 with one line on stderr when an input cannot be read (no cdk.out, a bad price table,
a malformed cdk.json).
"""

from __future__ import annotations

import sys
from pathlib import Path

from graviton_commands.cli import CommandParser, failure
from graviton_commands.cost.errors import CostError, require_assembly

# The price table beside this command (cost/prices.json); prices.py, which models it, loads pydantic.
PRICES = Path(__file__).with_name("prices.json")

PROG = "graviton.cost"


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m graviton_commands.cost", description=__doc__.splitlines()[0], prefix=PROG)
    parser.add_argument("cdk_out", nargs="?", type=Path, default=Path("cdk.out"), help="the cloud assembly (cdk.out)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--config", type=Path, default=Path("cdk.json"), help="the cdk.json with the usage assumptions")
    parser.add_argument(
        "--prices", type=Path, default=PRICES, help="the price table (default: the one beside this command)"
    )
    parser.add_argument("--svg", type=Path, help="where the chart goes (default: CDK_OUT/cost.svg)")
    parser.add_argument(
        "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="override a cdk.json setting"
    )
    args = parser.parse_args(argv)
    try:
        require_assembly(args.cdk_out)
    except CostError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    # The report's modules load pydantic: --help and usage errors do without them.
    from graviton_commands.cost.render_json import render_json
    from graviton_commands.cost.render_svg import render_svg
    from graviton_commands.cost.render_text import render_text
    from graviton_commands.cost.report import build_report

    svg_path: Path = args.svg or args.cdk_out / "cost.svg"
    try:
        report = build_report(args.cdk_out, args.config, args.prices, args.context)
        try:
            svg_path.write_text(render_svg(report))
        except OSError as err:
            raise CostError(f"cannot write the chart {svg_path} ({failure(err)})") from None
    except CostError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(render_json(report))
    else:
        print(render_text(report))
        print(f"chart: {svg_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
