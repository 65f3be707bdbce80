"""`make bench`: how fast the commands start, and `make synth` beside the smallest CDK app.

- Every command's `--help` and a refusal path, each the median of REPEATS runs; budget 0.3 s each.
- `make synth` beside `cdk synth` of a one-bucket Python app, with the same pinned CLI and Node, alternately, the
  median of REPEATS each; budget 1.6x.
- `make test` once (after setup, as a developer runs it again); budget 60 s. `--no-test` leaves it out.
Usage: python tests/bench/commands.py [--repeats 5] [--no-test]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMAND_BUDGET_SECONDS = 0.3
SYNTH_BUDGET_RATIO = 1.6
TEST_BUDGET_SECONDS = 60.0
PY = sys.executable
# Each command's --help, and one refusal it gives before doing anything (bad input or nothing to read).
COMMANDS = {
    "verify --help": ["-m", "graviton_commands.verify", "--help"],
    "verify refusal": ["-m", "graviton_commands.verify", "--env", "dev", "--no-aws"],
    "cost --help": ["-m", "graviton_commands.cost", "--help"],
    "cost refusal": ["-m", "graviton_commands.cost", "/nonexistent"],
    "docker-push --help": ["-m", "graviton_commands.docker_push", "--help"],
    "docker-push refusal": ["-m", "graviton_commands.docker_push", "dev", "nosuchservice"],
    "docker-build --help": ["-m", "graviton_commands.docker_build", "--help"],
    "docker-build refusal": ["-m", "graviton_commands.docker_build", "--arch", "sparc"],
    "audit --help": ["-m", "graviton_commands.audit", "--help"],
    "audit refusal": ["-m", "graviton_commands.audit", "/nonexistent"],
    "summary --help": ["-m", "graviton_commands.summary", "--help"],
    "summary refusal": ["-m", "graviton_commands.summary", "/nonexistent"],
    "pipeline-settings --help": ["-m", "graviton_commands.pipeline_settings", "--help"],
    "pipeline-settings refusal": ["-m", "graviton_commands.pipeline_settings"],
    "refresh-pins --help": ["-m", "graviton_commands.refresh_pins", "--help"],
    "refresh-pins refusal": ["-m", "graviton_commands.refresh_pins", "--only", "everything"],
    "new-service --help": ["-m", "graviton_commands.new_service", "--help"],
    "new-service refusal": ["-m", "graviton_commands.new_service", "Bad_Name", "--target", "lambda"],
    "preflight --help": ["-m", "graviton_commands.preflight", "--help"],
    "preflight refusal": ["-m", "graviton_commands.preflight", "--env", "nosuch", "--stack", "NoStack"],
    "make-help --help": ["-m", "graviton_commands.make_help", "--help"],
    "make-help refusal": ["-m", "graviton_commands.make_help", "--nope"],
}


def timed(args: list[str], *, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each (median reported)")
    parser.add_argument("--no-test", action="store_true", help="leave out the timed `make test` run")
    args = parser.parse_args()
    failed = False
    print(f"{'command':<28} {'median':>8}  budget {COMMAND_BUDGET_SECONDS} s")
    for name, command in COMMANDS.items():
        seconds = statistics.median(timed([PY, *command]) for _ in range(args.repeats))
        failed |= seconds > COMMAND_BUDGET_SECONDS
        print(f"{name:<28} {seconds:>7.2f}s{'  OVER' if seconds > COMMAND_BUDGET_SECONDS else ''}", flush=True)
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{Path(PY).parent}:{os.environ['PATH']}"}
    env["JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION"] = "1"
    cdk = str(ROOT / "node_modules" / ".bin" / "cdk")
    ours, yardstick = [], []
    with tempfile.TemporaryDirectory() as scratch:
        one_bucket = [cdk, "synth", "--quiet", "--app", f"{PY} {ROOT / 'tests' / 'bench' / 'one_bucket_app.py'}"]
        for _ in range(args.repeats):
            ours.append(timed(["make", "--no-print-directory", "synth"], env=env))
            yardstick.append(timed([*one_bucket, "-o", f"{scratch}/one-bucket"], env=env))
    ratio = statistics.median(ours) / statistics.median(yardstick)
    failed |= ratio > SYNTH_BUDGET_RATIO
    print(
        f"make synth {statistics.median(ours):.2f}s, one-bucket cdk synth {statistics.median(yardstick):.2f}s:"
        f" {ratio:.2f}x (budget {SYNTH_BUDGET_RATIO}x){'  OVER' if ratio > SYNTH_BUDGET_RATIO else ''}"
    )
    if not args.no_test:
        start = time.perf_counter()
        passed = (
            subprocess.run(["make", "--no-print-directory", "test"], cwd=ROOT, env=env, capture_output=True).returncode
            == 0
        )
        suite = time.perf_counter() - start
        failed |= suite > TEST_BUDGET_SECONDS or not passed
        over = "  OVER" if suite > TEST_BUDGET_SECONDS else ""
        print(
            f"make test {suite:.1f}s (budget {TEST_BUDGET_SECONDS:.0f} s, one run){over}{'' if passed else '  FAILED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
