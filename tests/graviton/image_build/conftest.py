"""Make the image-build handler importable the way its Lambda asset lays it out (modules at the top level)."""

import sys

from graviton.image_build.image_build_provider import RUNTIME_DIR

sys.path.insert(0, str(RUNTIME_DIR))
