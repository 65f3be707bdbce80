"""The commands: verify, cost, docker-push, docker-build, audit, summary, pipeline settings.

Standard library, boto3 and the app's settings only: none imports aws_cdk, so each starts at once.
"""

import os

# The commands use no pydantic plugin, and looking plugins up scans every installed distribution's entry points.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
