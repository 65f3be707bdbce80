"""`python -m graviton_commands.cost`: monthly arm64 vs x86 cost from fixed templates and assumptions, checked to the cent."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from support import ROOT, run

from graviton.guardrails.assembly import StackContent, resources_of
from graviton_app.config import UsageConfig
from graviton_commands.cost import render_svg
from graviton_commands.cost.command import main
from graviton_commands.cost.prices import PRICES, load_prices
from graviton_commands.cost.report import price_environment

SVG = "{http://www.w3.org/2000/svg}"
ARM_FUNCTION = {"Type": "AWS::Lambda::Function", "Properties": {"PackageType": "Image", "Architectures": ["arm64"]}}


def function(memory: int = 512) -> dict:
    return {**ARM_FUNCTION, "Properties": {**ARM_FUNCTION["Properties"], "MemorySize": memory}}


def fargate_task(cpu: str = "256", memory: str = "512") -> dict:
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {"Cpu": cpu, "Memory": memory, "RequiresCompatibilities": ["FARGATE"]},
    }


def nodegroup(*instance_types: str) -> dict:
    return {"Type": "AWS::EKS::Nodegroup", "Properties": {"InstanceTypes": list(instance_types)}}


def build(compute_type: str = "BUILD_GENERAL1_SMALL") -> dict:
    environment = {"Type": "ARM_CONTAINER", "ComputeType": compute_type}
    return {"Type": "AWS::CodeBuild::Project", "Properties": {"Environment": environment}}


def write_assembly(cdk_out: Path, stacks: dict[str, dict], stages: dict[str, dict[str, dict]] | None = None) -> Path:
    """A tiny cdk.out: one template per stack and, per stage, a nested assembly (as CDK Pipelines writes it)."""
    cdk_out.mkdir(parents=True, exist_ok=True)
    artifacts: dict = {}
    for stage, stage_stacks in (stages or {}).items():
        directory = f"assembly-{stage.replace('/', '-')}"
        write_assembly(cdk_out / directory, {f"{stage}/{name}": body for name, body in stage_stacks.items()})
        artifacts[directory] = {"type": "cdk:cloud-assembly", "properties": {"directoryName": directory}}
    for name, resources in stacks.items():
        template = f"{name.replace('/', '')}.template.json"
        (cdk_out / template).write_text(json.dumps({"Resources": resources}))
        artifacts[name.replace("/", "")] = {
            "type": "aws:cloudformation:stack",
            "displayName": name,
            "properties": {"templateFile": template},
        }
    (cdk_out / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return cdk_out


def write_config(repo: Path, usage: dict[str, dict]) -> Path:
    """A cdk.json whose environments have `usage`, with the docker/ folder its service needs."""
    (repo / "docker" / "api").mkdir(parents=True, exist_ok=True)
    (repo / "docker" / "api" / "Dockerfile").write_text("FROM scratch\n")
    context = {
        "project": "shop",
        "environments": {name: {"usage": figures} for name, figures in usage.items()},
        "services": [{"name": "api", "folder": "api", "targets": ["lambda"]}],
    }
    (repo / "cdk.json").write_text(json.dumps({"app": "python app.py", "context": context}))
    return repo / "cdk.json"


def report(tmp_path: Path, stacks: dict[str, dict], usage: dict[str, dict], stages: dict | None = None) -> dict:
    """Run the command with --json on the given templates and assumptions; return what it printed."""
    cdk_out = write_assembly(tmp_path / "cdk.out", stacks, stages)
    config = write_config(tmp_path / "repo", usage)
    args = [str(cdk_out), "--config", str(config), "--json"]
    return json.loads(_main(args))


def _main(args: list[str]) -> str:
    """What `main(args)` prints, once it has exited 0."""
    out = StringIO()
    with redirect_stdout(out):
        assert main(args) == 0
    return out.getvalue()


def environment(data: dict, name: str) -> dict:
    return next(env for env in data["environments"] if env["environment"] == name)


def costs(entry: dict) -> tuple:
    return entry["arm64"], entry["x86_64"], entry["saving"], entry["saving_percent"]


# The arithmetic, resource by resource


def test_a_million_gb_seconds_cost_13_3334_on_arm64_and_16_6667_on_x86(tmp_path):
    data = report(tmp_path, {"DevStack": {"Api": function()}}, {"dev": {"lambda_gb_seconds": 1_000_000}})
    (line,) = environment(data, "dev")["resources"]
    assert (line["kind"], line["name"], line["detail"]) == ("lambda", "Api", "512 MB")
    assert costs(line) == (13.3334, 16.6667, 3.3333, 20.0)


def test_the_arithmetic_is_decimal_not_float():
    stack = StackContent("DevStack", Path("DevStack.template.json"), resources_of({"Resources": {"Api": function()}}))
    usage = UsageConfig(lambda_gb_seconds=1_000_000, lambda_requests=1_000_000)
    dev = price_environment("dev", stack, usage, load_prices(PRICES))
    assert (dev.arm64, dev.x86_64) == (Decimal("13.5334"), Decimal("16.8667"))  # + $0.20 of requests on both
    assert dev.x86_64 - dev.arm64 == Decimal("3.3333")


def test_requests_cost_the_same_on_both(tmp_path):
    data = report(tmp_path, {"DevStack": {"Api": function()}}, {"dev": {"lambda_requests": 5_000_000}})
    assert costs(environment(data, "dev")["resources"][0]) == (1.0, 1.0, 0.0, 0.0)


def test_lambda_usage_is_split_evenly_over_the_workload_functions_and_helpers_are_left_out(tmp_path):
    # As CDK's Provider framework writes it: onEvent names the user's handler and the waiter state machine.
    framework_variables = {
        "USER_ON_EVENT_FUNCTION_ARN": {"Fn::GetAtt": ["OnEvent", "Arn"]},
        "WAITER_STATE_MACHINE_ARN": {"Ref": "Waiter"},
    }
    zip_function = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "..."}}}
    stack = {
        "Api": function(),
        "Orders": function(1024),
        "Reports": function(256),
        "Framework": {
            "Type": "AWS::Lambda::Function",
            "Metadata": {"graviton:remediated": "custom resource Provider framework-onEvent"},
            "Properties": {"Environment": {"Variables": framework_variables}, "Role": {"Fn::GetAtt": ["Role", "Arn"]}},
        },
        "Waiter": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "DefinitionString": {"Fn::Join": ["", ['{"Resource":"', {"Fn::GetAtt": ["IsComplete", "Arn"]}]]}
            },
        },
        "OnEvent": zip_function,
        "IsComplete": zip_function,
        "AutoDelete": zip_function,
        "Emptied": {
            "Type": "Custom::S3AutoDeleteObjects",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["AutoDelete", "Arn"]}},
        },
        # Roles and policies name every function: they must not make a workload a helper.
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"Ref": "Api"}]}},
    }
    data = report(tmp_path, {"DevStack": stack}, {"dev": {"lambda_gb_seconds": 900_000, "lambda_requests": 3_000_000}})
    dev = environment(data, "dev")
    assert [line["name"] for line in dev["resources"]] == ["Api", "Orders", "Reports"]
    for line in dev["resources"]:
        assert line["usage"] == {"lambda_gb_seconds": 300_000.0, "lambda_requests": 1_000_000.0}
        # 300,000 x 0.0000133334 + $0.20 = 4.20002; x86: 300,000 x 0.0000166667 + $0.20 = 5.20001
        assert costs(line) == (4.2, 5.2, 1.0, 19.2)
    assert sorted(dev["not_priced"]["helpers"]) == ["AutoDelete", "Framework", "IsComplete", "OnEvent"]
    assert dev["not_priced"]["other_functions"] == []
    assert costs(dev["total"]) == (12.6001, 15.6, 3.0, 19.2)


def test_a_zip_function_run_by_events_is_listed_not_priced_and_takes_no_share(tmp_path):
    gatekeeper = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Code": {"S3Key": "x.zip"}, "Architectures": ["arm64"]},
    }
    data = report(
        tmp_path, {"DevStack": {"Api": function(), "Gatekeeper": gatekeeper}}, {"dev": {"lambda_gb_seconds": 1_000_000}}
    )
    dev = environment(data, "dev")
    assert [line["name"] for line in dev["resources"]] == ["Api"]
    assert costs(dev["resources"][0]) == (13.3334, 16.6667, 3.3333, 20.0)
    assert dev["not_priced"] == {"helpers": [], "other_functions": ["Gatekeeper"]}


def test_lambda_usage_without_a_container_function_is_reported_as_not_priced(tmp_path):
    zip_function = {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "x.zip"}}}
    data = report(tmp_path, {"DevStack": {"Handler": zip_function}}, {"dev": {"lambda_gb_seconds": 5}})
    dev = environment(data, "dev")
    assert dev["resources"] == [] and dev["not_priced"]["other_functions"] == ["Handler"]
    assert dev["notes"] == ["lambda_gb_seconds 5 assumed, but the stack has no workload Lambda function: not priced"]


def test_fargate_prices_vcpu_hours_and_gb_hours_and_ignores_ec2_task_definitions(tmp_path):
    ec2_task = {"Type": "AWS::ECS::TaskDefinition", "Properties": {"RequiresCompatibilities": ["EC2"]}}
    data = report(
        tmp_path,
        {"DevStack": {"Web": fargate_task(), "Batch": ec2_task}},
        {"dev": {"fargate_vcpu_hours": 186, "fargate_gb_hours": 372}},
    )
    (line,) = environment(data, "dev")["resources"]
    assert (line["kind"], line["detail"]) == ("fargate", "0.25 vCPU, 0.5 GB")
    # arm64: 186 x 0.03238 + 372 x 0.00356 = 7.347; x86: 186 x 0.04048 + 372 x 0.004445 = 9.18282
    assert costs(line) == (7.347, 9.1828, 1.8358, 20.0)


def test_fargate_hours_are_split_over_task_definitions(tmp_path):
    data = report(
        tmp_path,
        {"ProdStack": {"Web": fargate_task(), "Worker": fargate_task("1024", "2048")}},
        {"prod": {"fargate_vcpu_hours": 1000, "fargate_gb_hours": 2000}},
    )
    lines = environment(data, "prod")["resources"]
    assert [line["usage"] for line in lines] == [{"fargate_vcpu_hours": 500.0, "fargate_gb_hours": 1000.0}] * 2
    assert [costs(line) for line in lines] == [(19.75, 24.685, 4.935, 20.0)] * 2


def test_an_eks_node_group_is_priced_at_its_x86_equivalent_and_an_unknown_type_has_no_price(tmp_path):
    data = report(
        tmp_path,
        {
            "DevStack": {
                "Nodes": nodegroup("t4g.medium"),
                "Big": nodegroup("r7g.large"),
                "Mixed": nodegroup("m7g.large", "t4g.medium"),
            }
        },
        {"dev": {"eks_node_hours": 300}},
    )
    nodes, big, mixed = environment(data, "dev")["resources"]
    assert nodes["detail"] == "t4g.medium vs t3.medium"
    assert costs(nodes) == (3.36, 4.16, 0.8, 19.2)  # 100 node-hours each
    assert big["detail"] == "r7g.large: no price for r7g.large in the price table"
    assert not big["priced"] and costs(big) == (None, None, None, None)
    assert mixed["detail"] == "m7g.large vs m6i.large"  # the first type is the one On-Demand launches first
    assert costs(mixed) == (8.16, 9.6, 1.44, 15.0)
    total = environment(data, "dev")["total"]
    assert costs(total) == (11.52, 13.76, 2.24, 16.3) and total["unpriced_resources"] == 1


def test_a_graviton_size_missing_from_the_table_has_no_price_rather_than_a_guess(tmp_path):
    data = report(tmp_path, {"DevStack": {"Nodes": nodegroup("t4g.xlarge")}}, {"dev": {"eks_node_hours": 10}})
    (line,) = environment(data, "dev")["resources"]
    assert line["detail"] == "t4g.xlarge: no price for t4g.xlarge in the price table"
    assert not line["priced"]


def test_spot_capacity_unresolved_types_and_build_fleets_have_no_price(tmp_path):
    spot = {"Type": "AWS::EKS::Nodegroup", "Properties": {"InstanceTypes": ["t4g.medium"], "CapacityType": "SPOT"}}
    unresolved = {"Type": "AWS::EKS::Nodegroup", "Properties": {"InstanceTypes": {"Ref": "NodeTypes"}}}
    fleet = build()
    fleet["Properties"]["Environment"]["Fleet"] = {"FleetArn": {"Ref": "Fleet"}}
    data = report(
        tmp_path,
        {"DevStack": {"Spot": spot, "Unresolved": unresolved, "Fleet": fleet}},
        {"dev": {"eks_node_hours": 10, "codebuild_build_minutes": 10}},
    )
    lines = environment(data, "dev")["resources"]
    assert [(line["name"], line["priced"]) for line in lines] == [
        ("Spot", False),
        ("Unresolved", False),
        ("Fleet", False),
    ]
    assert [line["detail"] for line in lines] == [
        "Spot capacity: no price",
        "instance types unresolved: no price",
        "reserved fleet: billed per fleet hour, no price",
    ]
    assert environment(data, "dev")["total"]["unpriced_resources"] == 3


def test_codebuild_minutes_are_split_over_projects_by_compute_type(tmp_path):
    data = report(
        tmp_path,
        {"DevStack": {"ApiBuild": build(), "WebBuild": build(), "Large": build("BUILD_GENERAL1_LARGE")}},
        {"dev": {"codebuild_build_minutes": 450}},
    )
    api, web, large = environment(data, "dev")["resources"]
    assert api["detail"] == "arm1.small vs general1.small"
    assert costs(api) == costs(web) == (0.51, 0.75, 0.24, 32.0)  # 150 minutes each
    assert not large["priced"] and "BUILD_GENERAL1_LARGE" in large["detail"]


def test_totals_per_environment_and_overall(tmp_path):
    stacks = {
        "DevStack": {"Api": function(), "Build": build()},
        "ProdStack": {"Api": function(), "Web": fargate_task()},
    }
    usage = {
        "dev": {"lambda_gb_seconds": 1_000_000, "codebuild_build_minutes": 100},
        "prod": {"lambda_gb_seconds": 2_000_000, "fargate_vcpu_hours": 100, "fargate_gb_hours": 200},
    }
    data = report(tmp_path, stacks, usage)
    assert [env["environment"] for env in data["environments"]] == ["dev", "prod"]
    assert costs(environment(data, "dev")["total"]) == (13.6734, 17.1667, 3.4933, 20.3)
    # prod: 26.6668 + 3.238 + 0.712 = 30.6168; x86: 33.3334 + 4.048 + 0.889 = 38.2704
    assert costs(environment(data, "prod")["total"]) == (30.6168, 38.2704, 7.6536, 20.0)
    assert costs(data["total"]) == (44.2902, 55.4371, 11.1469, 20.1)


def test_usage_without_a_resource_and_an_environment_without_usage_are_reported_not_fatal(tmp_path):
    data = report(
        tmp_path,
        {"DevStack": {"Api": function()}, "TestStack": {"Api": function()}},
        {"dev": {"lambda_gb_seconds": 10, "eks_node_hours": 744}},
    )
    assert environment(data, "dev")["notes"] == [
        "eks_node_hours 744 assumed, but the stack has no EKS node group: not priced"
    ]
    assert costs(environment(data, "test")["total"]) == (0.0, 0.0, 0.0, None)
    assert data["notes"] == ["test: not in cdk.json's environments, usage taken as zero"]


def test_a_pipeline_stage_copy_of_an_environment_stack_is_counted_once(tmp_path):
    data = report(
        tmp_path,
        {"DevStack": {"Api": function()}, "PipelineStack": {"Synth": build()}},
        {"dev": {"lambda_gb_seconds": 1_000_000}},
        stages={"PipelineStack/Dev": {"DevStack": {"Api": function()}}},
    )
    assert [(env["environment"], env["stack"]) for env in data["environments"]] == [("dev", "DevStack")]
    assert costs(data["total"]) == (13.3334, 16.6667, 3.3333, 20.0)
    assert sorted(data["notes"]) == [
        "PipelineStack/Dev/DevStack: the same stack as DevStack, counted once",
        "PipelineStack: not an environment stack, not priced",
    ]


def test_a_stage_stack_alone_is_priced(tmp_path):
    data = report(
        tmp_path,
        {},
        {"test": {"lambda_gb_seconds": 1_000_000}},
        stages={"PipelineStack/Test": {"TestStack": {"Api": function()}}},
    )
    assert [(env["environment"], env["stack"]) for env in data["environments"]] == [("test", "TestStack")]


# Output


def test_json_shape(tmp_path):
    data = report(tmp_path, {"DevStack": {"Api": function()}}, {"dev": {"lambda_gb_seconds": 1}})
    assert set(data) == {"prices", "split", "environments", "total", "notes"}
    assert data["prices"] == {
        "table": str(PRICES),
        "source": "AWS public price tables: Lambda, Fargate, EC2 On-Demand (Linux), CodeBuild on-demand",
        "date": "2025-2026",
        "region": "us-east-1",
        "currency": "USD",
    }
    (dev,) = data["environments"]
    assert set(dev) == {"environment", "stack", "usage", "resources", "not_priced", "notes", "total"}
    assert dev["usage"]["lambda_gb_seconds"] == 1
    assert set(dev["resources"][0]) == {
        "kind", "name", "logical_id", "detail", "usage", "priced", "arm64", "x86_64", "saving", "saving_percent",
    }  # fmt: skip
    assert set(dev["total"]) == {"arm64", "x86_64", "saving", "saving_percent", "unpriced_resources"}


def test_text_lists_each_resource_with_both_costs_and_the_totals(tmp_path):
    cdk_out = write_assembly(
        tmp_path / "cdk.out",
        {
            "DevStack": {
                "Api": {**function(), "Metadata": {"aws:cdk:path": "DevStack/Api/Function/Resource"}},
                "Nodes": nodegroup("r7g.large"),
            }
        },
    )
    config = write_config(tmp_path / "repo", {"dev": {"lambda_gb_seconds": 1_000_000, "eks_node_hours": 10}})
    out = _main([str(cdk_out), "--config", str(config)]).splitlines()
    assert out[0] == "What Graviton saves: monthly cost on arm64 beside the same on x86"
    assert out[1].startswith("prices: us-east-1 on-demand, USD, 2025-2026, from prices.json")
    api = next(line for line in out if line.startswith("  Api/Function"))
    assert api.split()[-4:] == ["$13.33", "$16.67", "$3.33", "20.0%"]
    assert "1,000,000 GB-s, 0 requests" in api
    nodes = next(line for line in out if line.startswith("  Nodes"))
    assert nodes.split()[-7:] == ["no", "price"] * 3 + ["-"] and "10 node-h" in nodes
    total = next(line for line in out if line.startswith("  total"))
    assert "1 not priced" in total and total.split()[-4:] == ["$13.33", "$16.67", "$3.33", "20.0%"]
    assert next(line for line in out if line.startswith("all environments")).split()[-1] == "20.0%"
    assert out[-1] == f"chart: {cdk_out / 'cost.svg'}"


def test_the_chart_has_one_pair_of_bars_per_environment_with_heights_proportional_to_cost(tmp_path):
    stacks = {"DevStack": {"Api": function()}, "TestStack": {"Api": function()}, "ProdStack": {"Api": function()}}
    usage = {
        name: {"lambda_gb_seconds": gb_s} for name, gb_s in (("dev", 100_000), ("test", 250_000), ("prod", 3_000_000))
    }
    data = report(tmp_path, stacks, usage)
    root = ET.parse(tmp_path / "cdk.out" / "cost.svg").getroot()
    assert root.tag == f"{SVG}svg"
    bars = [rect for rect in root.iter(f"{SVG}rect") if "bar" in rect.get("class", "").split()]
    pairs = {}
    for bar in bars:
        pairs.setdefault(bar.get("data-environment"), []).append(bar.get("class").split()[1])
    assert pairs == {"dev": ["arm64", "x86_64"], "test": ["arm64", "x86_64"], "prod": ["arm64", "x86_64"]}
    expected = {
        (env["environment"], arch): env["total"][arch] for env in data["environments"] for arch in ("arm64", "x86_64")
    }
    ratios = []
    for bar in bars:
        cost_of_bar = expected[(bar.get("data-environment"), bar.get("class").split()[1])]
        assert float(bar.get("data-cost")) == cost_of_bar
        ratios.append(float(bar.get("height")) / cost_of_bar)
    assert max(ratios) / min(ratios) < 1.005  # one scale for every bar (heights are written to 0.01)
    tallest = max(float(bar.get("height")) for bar in bars)
    assert 0 < tallest <= 360 - render_svg._TOP - render_svg._BOTTOM


def test_the_chart_path_can_be_chosen(tmp_path):
    cdk_out = write_assembly(tmp_path / "cdk.out", {"DevStack": {"Api": function()}})
    config = write_config(tmp_path / "repo", {"dev": {}})
    _main([str(cdk_out), "--config", str(config), "--svg", str(tmp_path / "chart.svg")])
    assert (tmp_path / "chart.svg").is_file() and not (cdk_out / "cost.svg").exists()


# The price table


@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        (lambda p: p.lambda_.gb_second.arm64, "0.0000133334"),
        (lambda p: p.lambda_.gb_second.x86_64, "0.0000166667"),
        (lambda p: p.lambda_.per_million_requests.arm64, "0.20"),
        (lambda p: p.fargate.vcpu_hour.arm64, "0.03238"),
        (lambda p: p.fargate.vcpu_hour.x86_64, "0.04048"),
        (lambda p: p.fargate.gb_hour.arm64, "0.00356"),
        (lambda p: p.fargate.gb_hour.x86_64, "0.004445"),
        (lambda p: p.instance_pair("t4g.medium"), ("t3.medium", "0.0336", "0.0416")),
        (lambda p: p.instance_pair("m6g.large"), ("m5.large", "0.077", "0.096")),
        (lambda p: p.instance_pair("c6g.large"), ("c5.large", "0.068", "0.085")),
        (lambda p: p.instance_pair("m7g.large"), ("m6i.large", "0.0816", "0.096")),
        (lambda p: p.codebuild["BUILD_GENERAL1_SMALL"].arm64.per_minute, "0.0034"),
        (lambda p: p.codebuild["BUILD_GENERAL1_SMALL"].x86_64.per_minute, "0.005"),
    ],
)
def test_the_shipped_price_table_holds_the_reference_figures(figure, expected):
    found = figure(load_prices(PRICES))
    if isinstance(expected, tuple):
        assert found == (expected[0], Decimal(expected[1]), Decimal(expected[2]))
    else:
        assert found == Decimal(expected)


# Bad input: one line, exit 2


def _broken_prices(tmp_path: Path, edit) -> Path:
    table = json.loads(PRICES.read_text())
    edit(table)
    (tmp_path / "prices.json").write_text(json.dumps(table))
    return tmp_path / "prices.json"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no cdk.out", "has no manifest.json; run make synth first"),
        ("cdk.out without manifest", "has no manifest.json; run make synth first"),
        ("template missing", "cannot read the cloud assembly"),
        ("no environment stack", "has no environment stack (DevStack, TestStack, ProdStack); run make synth first"),
        ("price table not JSON", "is not JSON"),
        ("price table without a figure", "'fargate.gb_hour.x86_64': Field required"),
        ("negative price", "'ec2_hourly': the price of 't4g.medium' is negative"),
        ("x86 mapped to x86", "'x86_equivalent': 't3' -> 'm5' must map a Graviton family"),
        ("price table missing", "cannot read the price table"),
        ("cdk.json not JSON", "is not JSON"),
        ("cdk.json without context", "has no 'context' object"),
        ("negative usage", "cdk.json: 'environments.dev.usage.lambda_gb_seconds' = -1 is not allowed"),
        ("unknown usage key", "cdk.json: 'environments.dev.usage' "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case, expected):
    cdk_out = write_assembly(tmp_path / "cdk.out", {"DevStack": {"Api": function()}})
    config = write_config(tmp_path / "repo", {"dev": {"lambda_gb_seconds": 1}})
    prices = PRICES
    if case == "no cdk.out":
        cdk_out = tmp_path / "missing"
    elif case == "cdk.out without manifest":
        (cdk_out / "manifest.json").unlink()
    elif case == "template missing":
        (cdk_out / "DevStack.template.json").unlink()
    elif case == "no environment stack":
        write_assembly(cdk_out, {"PipelineStack": {}})
        (cdk_out / "DevStack.template.json").unlink()
    elif case == "price table not JSON":
        prices = tmp_path / "prices.json"
        prices.write_text("{ lambda: 1")
    elif case == "price table without a figure":
        prices = _broken_prices(tmp_path, lambda t: t["fargate"]["gb_hour"].pop("x86_64"))
    elif case == "negative price":
        prices = _broken_prices(tmp_path, lambda t: t["ec2_hourly"].update({"t4g.medium": -1}))
    elif case == "x86 mapped to x86":
        prices = _broken_prices(tmp_path, lambda t: t["x86_equivalent"].update({"t3": "m5"}))
    elif case == "price table missing":
        prices = tmp_path / "nowhere.json"
    elif case == "cdk.json not JSON":
        config.write_text('{"context": ')
    elif case == "cdk.json without context":
        config.write_text("[]")
    elif case == "negative usage":
        write_config(tmp_path / "repo", {"dev": {"lambda_gb_seconds": -1}})
    elif case == "unknown usage key":
        write_config(tmp_path / "repo", {"dev": {"lambda_gb_second": 1}})
    assert main([str(cdk_out), "--config", str(config), "--prices", str(prices)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("graviton.cost: ")
    assert expected in captured.err


def test_an_unknown_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["cdk.out", "--euros"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("graviton.cost: unrecognized arguments: --euros; usage: ")


def test_the_command_line_refuses_without_a_traceback(tmp_path):
    result = run([sys.executable, "-m", "graviton_commands.cost", str(tmp_path / "cdk.out")], cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr == f"graviton.cost: {tmp_path / 'cdk.out'} has no manifest.json; run make synth first\n"


# Runs `python -m graviton_commands.cost ARGS` in-process, then prints (last line of stdout) which of the heavy
# packages it imported: the command reads templates, it must never load the CDK (or boto3) to do so.
IMPORT_PROBE = """\
import json, runpy, sys
sys.argv = ["graviton_commands.cost", *sys.argv[1:]]
try:
    runpy.run_module("graviton_commands.cost", run_name="__main__", alter_sys=True)
except SystemExit as exited:
    code = exited.code
heavy = ("aws_cdk", "constructs", "jsii", "boto3", "botocore")
sys.stdout.flush()
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(heavy))))
sys.exit(code)
"""


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--help"], 0, "usage: python -m graviton_commands.cost"),
        (["/nonexistent"], 2, "graviton.cost: /nonexistent has no manifest.json; run make synth first"),
    ],
)
def test_help_and_a_refusal_import_neither_aws_cdk_nor_boto3(args, code, expected):
    result = run([sys.executable, "-c", IMPORT_PROBE, *args], cwd=ROOT)
    assert result.returncode == code, result.stderr
    assert expected in result.stdout + result.stderr  # the command really ran
    assert json.loads(result.stdout.splitlines()[-1]) == []


# The real app


def test_the_session_synth_with_the_repository_cdk_json(synthesized, tmp_path):
    svg = tmp_path / "cost.svg"
    data = json.loads(_main([str(synthesized.outdir), "--config", str(ROOT / "cdk.json"), "--json", "--svg", str(svg)]))
    usage = json.loads((ROOT / "cdk.json").read_text())["context"]["environments"]
    assert [env["environment"] for env in data["environments"]] == list(synthesized.stacks)
    for env in data["environments"]:
        assumed = usage[env["environment"]]["usage"]
        assert env["stack"] == synthesized.stacks[env["environment"]].stack_name
        assert env["total"]["unpriced_resources"] == 0 and env["notes"] == []
        assert env["not_priced"]["helpers"], "CDK's custom-resource handlers are listed, not priced"
        assert 0 < env["total"]["arm64"] < env["total"]["x86_64"]
        for key in ("lambda_gb_seconds", "fargate_vcpu_hours", "codebuild_build_minutes"):
            shares = [line["usage"][key] for line in env["resources"] if key in line["usage"]]
            assert sum(shares) == pytest.approx(assumed[key]), f"{env['environment']}: {key} is shared out whole"
    assert data["total"]["saving"] > 0 and 15 < data["total"]["saving_percent"] < 35


def test_the_committed_chart_is_the_one_the_repository_config_gives(synthesized, tmp_path):
    svg = tmp_path / "cost.svg"
    _main([str(synthesized.outdir), "--config", str(ROOT / "cdk.json"), "--svg", str(svg)])
    assert svg.read_text() == (ROOT / "docs" / "cost.svg").read_text(), (
        "docs/cost.svg is out of date: make synth && make cost && cp cdk.out/cost.svg docs/cost.svg"
    )
