"""The registry gatekeeper and the manifest logic it shares with graviton.verify."""
