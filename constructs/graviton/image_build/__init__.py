"""Deploy-time arm64 image builds: a file asset, an ARM CodeBuild project, and a custom resource that waits.

Import the constructs from `graviton` (or their modules); this package imports nothing, so `source` and `runtime`
load without aws-cdk-lib.
"""
