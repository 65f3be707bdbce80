"""Make the service's package importable from its folder, the way the Lambda image lays it out, in Lambda's env.

Powertools reads its settings when `Logger`, `Tracer` and `Metrics` are created, at import (Lambda's init
phase), so they are set here, before any test module imports the handler.
"""

import os
import sys
from pathlib import Path

import pytest

SERVICE = "api"
NAMESPACE = "GravitonGuarantee/Tests"

os.environ["POWERTOOLS_SERVICE_NAME"] = SERVICE
os.environ["POWERTOOLS_METRICS_NAMESPACE"] = NAMESPACE
# No X-Ray daemon here: the tracer's decorators still run, the SDK sends nothing.
os.environ["POWERTOOLS_TRACE_DISABLED"] = "1"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture
def metrics_namespace() -> str:
    return NAMESPACE


@pytest.fixture
def service_name() -> str:
    return SERVICE
