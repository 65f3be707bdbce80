"""`make bench`: the guard's cost on synth wall time, whole process, with and without the guard in one run.

Each size runs both variants alternately REPEATS times and reports the medians and the overhead, of wall time (the
budget) and of CPU time (Python and its Node process), and the time spent inside the guard's own entry points as a
share of the unguarded wall time: on a machine whose speed moves from run to run (shared or virtualised), the
difference of two whole-process medians can be several percent either way, while the guard's own time is measured
inside one process and moves far less.
Usage: python tests/bench/guard_overhead.py [--sizes 500,1000,2000] [--builds 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = Path(__file__).with_name("synth_app.py")
BUDGET_PERCENT = 5.0


def timed_synth(functions: int, builds: int, mode: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for, seconds inside the guard) of one
    whole-process synth."""
    with tempfile.TemporaryDirectory() as scratch:
        outdir = str(Path(scratch) / "cdk.out")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(APP), str(functions), str(builds), mode, outdir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        inside = Path(scratch, "guard-seconds.txt")
        guard_seconds = float(inside.read_text()) if inside.is_file() else 0.0
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), guard_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000", help="function counts, comma-separated")
    parser.add_argument("--builds", type=int, default=100, help="ARM CodeBuild projects in every app")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each variant (median reported)")
    args = parser.parse_args()
    print(
        f"{'functions':>9} {'builds':>6} {'without guard':>14} {'with guard':>11} {'overhead':>9} {'CPU overhead':>13}"
        f" {'guard own time':>15}"
    )
    worst = 0.0
    for size in (int(s) for s in args.sizes.split(",")):
        times: dict[str, list[tuple[float, float, float]]] = {"no-guard": [], "guard": []}
        for _ in range(args.repeats):
            for mode in times:
                times[mode].append(timed_synth(size, args.builds, mode))
        without, with_guard = (statistics.median(wall for wall, _, _ in times[m]) for m in ("no-guard", "guard"))
        cpu_without, cpu_with = (statistics.median(cpu for _, cpu, _ in times[m]) for m in ("no-guard", "guard"))
        own = statistics.median(inside for _, _, inside in times["guard"])
        overhead = (with_guard - without) / without * 100
        cpu_overhead = (cpu_with - cpu_without) / cpu_without * 100
        worst = max(worst, overhead)
        print(
            f"{size:>9} {args.builds:>6} {without:>13.1f}s {with_guard:>10.1f}s {overhead:>8.1f}% {cpu_overhead:>12.1f}%"
            f" {own:>6.2f}s {own / without * 100:>6.1f}%",
            flush=True,
        )
    print(f"budget: {BUDGET_PERCENT}%; worst overhead measured: {worst:.1f}%")
    return 0 if worst <= BUDGET_PERCENT else 1


if __name__ == "__main__":
    sys.exit(main())
