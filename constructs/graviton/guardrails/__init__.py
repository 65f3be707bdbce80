"""The arm64 guard's machinery: the rules (pure functions over final templates), the pack, the evaluation, the
assembly reader, CDK-function remediation and the policy-validation plugin (`guard`).

This package imports nothing: the rules and the reader load without aws-cdk-lib, for `audit` and `summary`.
"""
