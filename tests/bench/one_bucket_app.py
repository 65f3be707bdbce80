"""The yardstick for `make synth`: the smallest Python CDK app, one stack with one bucket."""

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App()
s3.Bucket(cdk.Stack(app, "OneBucket"), "Bucket")
app.synth()
