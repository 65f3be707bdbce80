"""Verify that an environment runs on Graviton, in the live account: images, functions, tasks, nodes, builds, endpoints.

    python -m graviton_commands.verify --env dev [--json]        # every check; credentials for dev's account
    make verify ENV=dev                                           # the same, after make setup
    PYTHONPATH=constructs python3 -m graviton_commands.verify --env prod --no-aws \\
        --url api/lambda=https://... --url web/ecs=http://...     # endpoints only, as the pipeline runs it

With AWS (the default) it reads the app's settings (cdk.json with `-c` overrides, validated as `cdk synth` does) and
the environment's stack with its nested stacks (`DevStack`: `describe_stacks` outputs and `list_stack_resources` of
each) and checks, one row per resource (resource, expected, found, verdict):

    ECR image            every active image in the repositories the stack names or its workloads run (for a
                         promoted environment, the building environment's): a single image whose config says
                         linux/arm64; an index, an artifact or another platform fails (archived images cannot be
                         pulled, and DescribeImages does not list them)
    Lambda function      every AWS::Lambda::Function: Architectures ["arm64"]
    ECS task definition  every AWS::ECS::TaskDefinition: runtimePlatform.cpuArchitecture ARM64
    CodeBuild project    every AWS::CodeBuild::Project: ARM_CONTAINER, ARM_LAMBDA_CONTAINER or ARM_EC2
    EKS node             every running EC2 instance tagged eks:cluster-name=<EksClusterName output>: arm64
    Nested stack         every nested stack the stack lists is readable (a row only for one that is not: its
                         resources go unchecked)
    GET /arch            every HTTP target of the settings' services, at its path under the `LambdaBaseUrl` or
                         `EcsBaseUrl` output, or at its host on the domain (labelled `api/lambda`, `web/ecs`):
                         {"machine": "aarch64"}

Flags:
    --env ENV          the environment (dev, test, prod); with AWS it must be in cdk.json
    --stack NAME       the stack to read (default: <Env>Stack, the name `cdk deploy` and the pipeline give it)
    --region REGION    default: environments.<env>.region in cdk.json, else AWS_REGION / AWS_DEFAULT_REGION / profile
    --url LABEL=URL    repeatable; LABEL is the endpoint's `service/target` (`api/lambda`, `web/ecs`); with AWS a
                       --url replaces the stack's output with the same label, or adds an endpoint (the messages and
                       --help call it SERVICE=URL)
    --no-aws           only GET /arch on the --url endpoints: no credentials, standard library only (the pipeline
                       runs this for an environment in another account than its own)
    --json             the rows as JSON on stdout instead of the table; a refusal as JSON too (`ok` false, `refused`)
    --deep             also download the layers of every arm64 image and fail one holding an ELF file for another
                       machine than aarch64 (headers only, as the ARM build scans before it pushes)
    --attempts N, --backoff S, --timeout S   patience with endpoints (default 5 tries, 2 s doubling, 10 s each)
    -c KEY=VALUE, --root DIR                 a cdk.json setting for this run; the folder holding cdk.json (default .)

Exit 0 when every row is arm64, 1 when anything is not (an x86 function, task, node, build or image, an index),
2 when something could not be checked: no boto3, no credentials, no region, settings cdk.json does not accept, the
stack not deployed, a bad argument (one line on stderr, no traceback), or a resource that could not be read (its row
says why).

Standard library only unless the AWS checks run: the settings loader (pydantic) and boto3 are imported only then, so
`--no-aws` runs in a bare container with nothing but `PYTHONPATH=constructs`; the pipeline's verify step installs the
boto3 and pydantic that requirements.txt pins. Progress goes to stderr.

The modules, in the order a run goes through them:

    command.py       the command line: parse_args, main
    model.py         what they all share: Row, Plan, Target, ImageRef, Repo, verdicts, exit codes, the errors
    stack.py         the settings, the credentials and the deployed stack (`connect` -> `Aws`)
    checks.py        which checks run, in which order
    nested_stack_check.py, lambda_check.py, task_check.py, build_check.py, node_check.py, image_check.py
                     one AWS check each
    endpoints.py     GET /arch on each endpoint, and which endpoints
    render.py        the table, the JSON, the summary line
"""
