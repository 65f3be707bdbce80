"""Make the gatekeeper's handler importable the way its Lambda asset lays it out (modules at the top level)."""

import sys

from graviton.registry.registry_gatekeeper import RUNTIME_DIR

sys.path.insert(0, str(RUNTIME_DIR))
