"""checkov over the directories given, as `checkov -d` scans them, and the ids of every check it has for
CloudFormation: one JSON document on stdout, `{"reports": [...], "checks": [...]}`.

Run by .venv/checkov's own Python (checkov pins boto3 and packaging against the app's pins), once per test session:
one interpreter start and one load of checkov's checks for every directory.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from checkov.cloudformation.checks.resource.registry import cfn_registry
from checkov.common.checks_infra.registry import get_graph_checks_registry
from checkov.main import Checkov


def main(directories: list[str]) -> None:
    # --skip-download: nothing is fetched from the vendor's platform (and nothing waits for a network).
    args = ["--framework", "cloudformation", "--compact", "--skip-download", "-o", "json"]
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        Checkov(argv=[*(a for d in directories for a in ("-d", d)), *args]).run()
    # One JSON document per directory, one after another.
    text, reports, decoder, end = report.getvalue(), [], json.JSONDecoder(), 0
    while text[end:].strip():
        document, end = decoder.raw_decode(text, end + len(text[end:]) - len(text[end:].lstrip()))
        reports.extend(document if isinstance(document, list) else [document])
    graph = get_graph_checks_registry("cloudformation")
    graph.load_checks()
    checks = {c.id for checks in cfn_registry.checks.values() for c in checks} | {c.id for c in graph.checks}
    json.dump({"reports": reports, "checks": sorted(checks)}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
