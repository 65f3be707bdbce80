"""The commands: verify, cost, docker-push, docker-build, audit, summary, pipeline settings.

Standard library, boto3 and the app's settings only: none imports aws_cdk, so each starts at once.
"""
