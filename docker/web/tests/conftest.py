"""Make the service's package importable from its folder, the way the image lays it out (/app/web_service)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
