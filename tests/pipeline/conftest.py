"""The app synthesized once for this folder's template tests, with the pipeline settings given as context."""

from __future__ import annotations

import pytest
from support import Synthesized, pipeline_context, synthesize


@pytest.fixture(scope="module")
def pipeline_synth(tmp_path_factory) -> Synthesized:
    return synthesize(pipeline_context(), tmp_path_factory.mktemp("pipeline.out"))
