"""The app's stacks: thin compositions of graviton constructs (`environment_stack`, `environment_stage`,
`pipeline_stack`)."""
