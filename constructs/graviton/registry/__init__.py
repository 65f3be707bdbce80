"""The registry: ImageRepository (only the build may push), RegistryGatekeeper (checks every push) and the
manifest logic the gatekeeper shares with `verify`.

This package imports nothing: `runtime/` loads without aws-cdk-lib.
"""
