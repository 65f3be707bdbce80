"""Hypothesis profiles of the property-based tests (the `fuzz` marker): `test`, loaded by default, runs each property
with a few hundred examples within `make test`'s budget, derandomized so a run is the same every time; `fuzz`
(`make fuzz`, `pytest --hypothesis-profile fuzz`) runs each with thousands of fresh random examples."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, configuration, settings

TEST_EXAMPLES = 100
FUZZ_EXAMPLES = 5000
_COMMON = settings(
    deadline=None,  # a command's first call imports what it needs
    database=None,  # no .hypothesis/ folder in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("test", _COMMON, max_examples=TEST_EXAMPLES, derandomize=True)
settings.register_profile("fuzz", _COMMON, max_examples=FUZZ_EXAMPLES)
# `--hypothesis-profile` (Hypothesis's pytest plugin) loads its profile after this.
settings.load_profile("test")

# Even without a database Hypothesis caches constants and Unicode tables under ./.hypothesis, and its pytest plugin
# does so right after collection, so point it elsewhere now, unless the caller already chose a place.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "graviton-hypothesis")
