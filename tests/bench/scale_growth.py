"""`make bench`: how `cdk synth` grows with the services, and every template within CloudFormation's limits.

For each size N, a temporary copy of the repository gets services scaffolded by `make new-service`'s own code (hash
locks resolved without PyPI, as the tests scaffold), beside cdk.json's own, so that N services run in all, half
`lambda` and half `ecs` (200 = 100 + 100, the ECS cap); then `cdk synth` runs once there, as `make synth` runs it.
It prints each size's synth wall time and its largest figures over every template, parent and nested, and the synth
time per added service from the smallest size to the middle one and from the middle one to the largest.
It exits 1 with one line when the second of those exceeds 1.5 times the first (synth must grow linearly), when a
template crosses a CloudFormation limit (`graviton_app.limits`), or when a synth fails (the CLI's last error line).
Usage: python tests/bench/scale_growth.py [--sizes 2,50,200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the scaffolding the tests use

from scaffolding import ROOT, ScaffoldRefused, repository_copy, scaffold

from graviton_app import limits
from graviton_commands.cli import CommandParser, Refusal

PREFIX = "scale-growth"
DEFAULT_SIZES = "2,50,200"
# The synth time per added service from the middle size to the largest, at most this times that from the smallest to
# the middle one: what growing linearly allows for one run per size on a machine whose speed moves.
LINEARITY_BUDGET = 1.5
# What synth needs of the repository besides what `scaffolding.repository_copy` gives (cdk.json, docker/).
COPIED = ("app.py", "stacks", "constructs")
TEMPLATE_LIMITS = (
    ("resources", limits.TEMPLATE_RESOURCES),
    ("outputs", limits.TEMPLATE_OUTPUTS),
    ("parameters", limits.TEMPLATE_PARAMETERS),
    ("bytes", limits.TEMPLATE_BYTES),
    ("dynamic_references", limits.TEMPLATE_DYNAMIC_REFERENCES),
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The CLI's own closing line after the app failed; the app's last line before it says why.
_SUBPROCESS_EXITED = re.compile(r"Subprocess exited with error \d+$")


class SynthFailed(Exception):
    """`cdk synth` exited non-zero: the last line it printed that says why."""


@dataclass(frozen=True)
class TemplateStats:
    """One synthesized template's figures that CloudFormation limits."""

    name: str  # its path under cdk.out
    resources: int
    outputs: int
    parameters: int
    dynamic_references: int
    bytes: int


@dataclass(frozen=True)
class Measurement:
    services: int
    seconds: float
    templates: list[TemplateStats]

    def most(self, figure: str) -> int:
        return max(getattr(template, figure) for template in self.templates)


def parse_sizes(text: str) -> tuple[int, int, int]:
    """`2,50,200` -> (2, 50, 200): three service counts, smallest first."""
    allowed = f"allowed: three service counts, each larger than the one before, comma-separated ({DEFAULT_SIZES})"
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not allowed; {allowed}") from None
    if len(sizes) != 3 or not 0 < sizes[0] < sizes[1] < sizes[2]:
        raise argparse.ArgumentTypeError(f"'{text}' is not allowed; {allowed}")
    return sizes[0], sizes[1], sizes[2]


def added_services(size: int, configured: Sequence[Sequence[str]]) -> dict[str, str]:
    """The services to scaffold (name -> target) beside the configured ones (each its targets) so that `size` run in
    all, half on `lambda` (the odd one too) and half on `ecs` as far as the configured ones allow."""
    if size < len(configured):
        raise Refusal(
            f"--sizes: {size} is not allowed: cdk.json already has {len(configured)} services; allowed:"
            f" {len(configured)} or more"
        )
    free = size - len(configured)
    functions = min(free, max(0, size - size // 2 - sum("lambda" in targets for targets in configured)))
    added = {f"lambda-{n:03d}": "lambda" for n in range(1, functions + 1)}
    added.update({f"ecs-{n:03d}": "ecs" for n in range(1, free - functions + 1)})
    return added


def template_stats(cdk_out: Path) -> list[TemplateStats]:
    """Every template under `cdk_out` (top-level stacks', `*.nested.template.json`, and stages' assemblies), by name."""
    stats = []
    for path in sorted(cdk_out.rglob("*.template.json")):
        text = path.read_text(encoding="utf-8")
        template = json.loads(text)
        stats.append(
            TemplateStats(
                name=str(path.relative_to(cdk_out)),
                resources=len(template.get("Resources", {})),
                outputs=len(template.get("Outputs", {})),
                parameters=len(template.get("Parameters", {})),
                dynamic_references=text.count("{{resolve:"),
                bytes=path.stat().st_size,
            )
        )
    return stats


def limit_crossings(templates: Sequence[TemplateStats]) -> list[str]:
    """One line per figure of a template over its CloudFormation limit."""
    return [
        f"{template.name} has {getattr(template, figure):,} {figure.replace('_', ' ')}; CloudFormation allows"
        f" {limit.said}"
        for template in templates
        for figure, limit in TEMPLATE_LIMITS
        if getattr(template, figure) > limit.value
    ]


def slopes(measurements: Sequence[Measurement]) -> tuple[float, float]:
    """Synth seconds per added service from the smallest size to the middle one, and from the middle to the largest."""
    small, middle, large = measurements
    return (
        (middle.seconds - small.seconds) / (middle.services - small.services),
        (large.seconds - middle.seconds) / (large.services - middle.services),
    )


def linearity_problem(measurements: Sequence[Measurement]) -> str | None:
    """Why the growth is not linear (the second slope over LINEARITY_BUDGET times the first), or None."""
    small, middle, large = (m.services for m in measurements)
    first, second = slopes(measurements)
    if second <= LINEARITY_BUDGET * first:
        return None
    if first <= 0:
        return (
            f"synth time did not grow from {small} to {middle} services ({first:+.3f} s per service), so its growth"
            f" from {middle} to {large} ({second:+.3f} s per service) cannot be shown linear; use sizes further apart"
        )
    return (
        f"synth time per added service grew from {first:.3f} s ({small} to {middle} services) to {second:.3f} s"
        f" ({middle} to {large}): {second / first:.2f}x; linear growth allows {LINEARITY_BUDGET}x"
    )


def last_error_line(output: str) -> str:
    """The line of the CLI's output that says why synth failed: the app's last, before the CLI's own closing line."""
    lines = [_ANSI.sub("", line).strip() for line in output.splitlines()]
    said = [line for line in lines if line and not _SUBPROCESS_EXITED.search(line)]
    return said[-1] if said else "no output"


def prepare(root: Path, services: dict[str, str]) -> None:
    """`root` made into a copy of the repository with `services` (name -> target) scaffolded beside cdk.json's own:
    synth's sources copied (bytecode caches too, still valid with the copied times), node_modules and this Python's
    environment linked."""
    repository_copy(root)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, symlinks=True)
        else:
            shutil.copy2(source, root / name)
    (root / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    # cdk.json's app is `.venv/bin/python app.py`: the environment this bench runs in
    (root / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    scaffold(root, services)


def synth(root: Path) -> float:
    """Wall seconds of one `cdk synth --quiet` in `root`, as `make synth` runs it; SynthFailed when it fails."""
    environment = {
        **os.environ,
        "PATH": os.pathsep.join(
            [str(ROOT / "node_modules" / ".bin"), str(Path(sys.prefix) / "bin"), os.environ["PATH"]]
        ),
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
        # the copy's constructs/ before the editable install's (this checkout's)
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "constructs"), os.environ.get("PYTHONPATH")])),
    }
    # --no-notices: the CLI's notices come from the network, not from synth
    command = [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "--no-notices"]
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SynthFailed(last_error_line(done.stdout))
    return seconds


HEADER = (
    f"{'services':>8} {'synth wall':>10} {'templates':>9} {'resources':>9} {'outputs':>7} {'parameters':>10}"
    f" {'dyn refs':>8} {'bytes':>11}   (largest figure of any one template)"
)


def row(m: Measurement) -> str:
    return (
        f"{m.services:>8} {m.seconds:>9.1f}s {len(m.templates):>9} {m.most('resources'):>9,} {m.most('outputs'):>7,}"
        f" {m.most('parameters'):>10,} {m.most('dynamic_references'):>8,} {m.most('bytes'):>11,}"
    )


def verdict(measurements: Sequence[Measurement]) -> str | None:
    """The one line that fails the bench (a template over a limit first: that one could not deploy), or None."""
    crossings = [f"{m.services} services: {line}" for m in measurements for line in limit_crossings(m.templates)]
    if crossings:
        more = len(crossings) - 1
        return crossings[0] + (f" (and {more} more figure{'s' if more > 1 else ''} over a limit)" if more else "")
    return linearity_problem(measurements)


def main(argv: Sequence[str] | None = None) -> int:
    from graviton_commands.settings import read_settings

    parser = CommandParser(
        prog="python tests/bench/scale_growth.py", description=__doc__.splitlines()[0], prefix=PREFIX
    )
    parser.add_argument(
        "--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), metavar="N,N,N",
        help=f"total service counts, smallest first (default: {DEFAULT_SIZES})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    measurements = []
    with tempfile.TemporaryDirectory(prefix="scale-growth-") as scratch:
        # Every copy scaffolded before the first synth: a size the settings refuse stops the bench at once.
        roots = {size: Path(scratch) / str(size) for size in args.sizes}
        try:
            configured = [service.targets for service in read_settings(ROOT).config.services]
            for size, root in roots.items():
                prepare(root, added_services(size, configured))
        except Refusal as err:
            print(f"{PREFIX}: {err}", file=sys.stderr)
            return 2
        except ScaffoldRefused as err:
            print(f"{PREFIX}: {size} services: {err}", file=sys.stderr)
            return 1
        print(HEADER, flush=True)
        for size, root in roots.items():
            try:
                seconds = synth(root)
            except SynthFailed as err:
                print(f"{PREFIX}: {size} services: cdk synth failed: {err}", file=sys.stderr)
                return 1
            measurements.append(Measurement(services=size, seconds=seconds, templates=template_stats(root / "cdk.out")))
            print(row(measurements[-1]), flush=True)
    first, second = slopes(measurements)
    small, middle, large = args.sizes
    print(
        f"synth seconds per added service: {first:.3f} from {small} to {middle} services, {second:.3f} from {middle}"
        f" to {large} (allowed: at most {LINEARITY_BUDGET}x the first)"
    )
    problem = verdict(measurements)
    if problem:
        print(f"{PREFIX}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
