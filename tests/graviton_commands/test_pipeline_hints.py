"""`make deploy-pipeline`'s check gives one rule for where the pipeline's settings go: committed to cdk.json."""

from __future__ import annotations

import sys

from support import PIPELINE_SETTINGS, ROOT, run

CHECK = [sys.executable, "-m", "graviton_commands.pipeline_settings"]
RULE = (
    "commit them to cdk.json: the pipeline synthesizes from the repository, and its first self-mutation would drop"
    " a setting given with -c"
)


def refusal(*args: str) -> str:
    result = run([*CHECK, *args])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    return line


def test_missing_settings_and_settings_given_with_c_get_the_same_advice():
    missing = refusal()
    given = refusal(
        *(
            arg
            for key in ("pipeline_connection_arn", "pipeline_repository")
            for arg in ("-c", f"{key}={PIPELINE_SETTINGS[key]}")
        )
    )
    assert missing.startswith("cdk.json: PipelineStack needs ") and missing.endswith(f"; {RULE}")
    assert given.endswith(f"set with -c only; {RULE}")
    for line in (missing, given):
        assert "or with -c" not in line


def test_the_pipeline_page_shows_the_line_the_check_prints():
    page = (ROOT / "docs" / "pipeline.md").read_text()
    assert f"   {refusal()}\n" in page
