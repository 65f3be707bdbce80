"""The registry gatekeeper and the manifest logic it shares with graviton.verify.

The construct lives in `graviton.registry.gatekeeper`, not here: `runtime/` stays importable without CDK.
"""
