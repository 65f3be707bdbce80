"""This app's own code: its settings (cdk.json context), the names it gives things, and the mapping from settings
to the construct library's props. Loading settings needs only the standard library and pydantic."""
