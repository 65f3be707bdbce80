"""CDK Pipelines on Graviton: ARM CodeBuild for every project, the post-deploy verification step, the V2 push
trigger, failure notifications and the findings CDK Pipelines' own resources raise."""
