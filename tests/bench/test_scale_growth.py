"""tests/bench/scale_growth.py without a real synth: the template figures, the limits, the linearity verdict, the
services it scaffolds and its one-line failures (`cdk synth` replaced by a fake that writes templates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench import scale_growth
from bench.scale_growth import Measurement, TemplateStats
from scaffolding import ScaffoldRefused, repository_copy, scaffold

from graviton_app import limits
from graviton_commands.settings import read_settings


def write_template(path: Path, *, resources: int = 1, outputs: int = 0, parameters: int = 0, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    template = {
        "Parameters": {f"P{n}": {"Type": "String"} for n in range(parameters)},
        "Resources": {
            f"R{n}": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": text}} for n in range(resources)
        },
        "Outputs": {f"O{n}": {"Value": "v"} for n in range(outputs)},
    }
    path.write_text(json.dumps(template, indent=1))
    return path


def stats(name: str = "T.template.json", **figures: int) -> TemplateStats:
    values = {"resources": 1, "outputs": 0, "parameters": 0, "dynamic_references": 0, "bytes": 100} | figures
    return TemplateStats(name=name, **values)


def measured(*points: tuple[int, float]) -> list[Measurement]:
    return [Measurement(services=n, seconds=s, templates=[stats()]) for n, s in points]


def test_template_stats_reads_every_template_parent_nested_and_in_a_stage(tmp_path):
    secret = "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:s:SecretString:::}}"
    parent = write_template(tmp_path / "DevStack.template.json", resources=3, outputs=2, parameters=1, text=secret)
    nested = write_template(tmp_path / "DevStackWebNestedStackABC.nested.template.json", resources=5, parameters=4)
    staged = write_template(tmp_path / "assembly-PipelineStack-Dev" / "PipelineStackDevStack.template.json", outputs=7)
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "DevStack.assets.json").write_text("{}")

    got = {s.name: s for s in scale_growth.template_stats(tmp_path)}

    assert got == {
        "DevStack.template.json": TemplateStats("DevStack.template.json", 3, 2, 1, 3, parent.stat().st_size),
        nested.name: TemplateStats(nested.name, 5, 0, 4, 0, nested.stat().st_size),
        "assembly-PipelineStack-Dev/PipelineStackDevStack.template.json": TemplateStats(
            "assembly-PipelineStack-Dev/PipelineStackDevStack.template.json", 1, 7, 0, 0, staged.stat().st_size
        ),
    }


def test_templates_at_cloudformations_limits_pass():
    at_limits = stats(
        resources=limits.TEMPLATE_RESOURCES.value,
        outputs=limits.TEMPLATE_OUTPUTS.value,
        parameters=limits.TEMPLATE_PARAMETERS.value,
        dynamic_references=limits.TEMPLATE_DYNAMIC_REFERENCES.value,
        bytes=limits.TEMPLATE_BYTES.value,
    )
    assert scale_growth.limit_crossings([at_limits]) == []


@pytest.mark.parametrize(
    ("figure", "limit", "said"),
    [
        ("resources", limits.TEMPLATE_RESOURCES, "501 resources; CloudFormation allows at most 500 resources per"),
        ("outputs", limits.TEMPLATE_OUTPUTS, "201 outputs; CloudFormation allows at most 200 outputs per"),
        ("parameters", limits.TEMPLATE_PARAMETERS, "201 parameters; CloudFormation allows at most 200 parameters"),
        ("bytes", limits.TEMPLATE_BYTES, "1,000,001 bytes; CloudFormation allows at most 1,000,000 bytes"),
        (
            "dynamic_references",
            limits.TEMPLATE_DYNAMIC_REFERENCES,
            "61 dynamic references; CloudFormation allows at most 60",
        ),
    ],
)
def test_a_template_over_a_limit_is_named_with_its_figure_and_the_limit(figure, limit, said):
    over = stats("DevStackApiNestedStack.nested.template.json", **{figure: limit.value + 1})
    (line,) = scale_growth.limit_crossings([stats(), over])
    assert line.startswith(f"DevStackApiNestedStack.nested.template.json has {said}")


def test_growth_within_one_and_a_half_times_the_first_slope_is_linear():
    assert scale_growth.slopes(measured((2, 10.0), (50, 34.0), (200, 109.0))) == (0.5, 0.5)
    assert scale_growth.linearity_problem(measured((2, 10.0), (50, 34.0), (200, 109.0))) is None
    # exactly 1.5x: 0.5 s, then 0.75 s per service
    assert scale_growth.linearity_problem(measured((2, 10.0), (50, 34.0), (200, 146.5))) is None


def test_growth_faster_than_one_and_a_half_times_the_first_slope_fails():
    problem = scale_growth.linearity_problem(measured((2, 10.0), (50, 34.0), (200, 154.0)))
    assert problem == (
        "synth time per added service grew from 0.500 s (2 to 50 services) to 0.800 s (50 to 200): 1.60x;"
        " linear growth allows 1.5x"
    )


def test_growth_that_cannot_be_compared_with_a_first_slope_that_did_not_grow_fails():
    problem = scale_growth.linearity_problem(measured((2, 10.3), (4, 9.1), (8, 12.4)))
    assert problem is not None and problem.startswith("synth time did not grow from 2 to 4 services")


def test_a_template_over_a_limit_is_the_verdict_before_the_growth():
    points = measured((2, 10.0), (50, 34.0), (200, 154.0))
    points[2] = Measurement(200, 154.0, [stats("A.template.json", resources=600, outputs=300), stats()])
    assert scale_growth.verdict(points) == (
        "200 services: A.template.json has 600 resources; CloudFormation allows at most 500 resources per"
        " CloudFormation template (AWS limit, not adjustable) (and 1 more figure over a limit)"
    )


@pytest.mark.parametrize(
    ("size", "configured", "functions", "containers"),
    [
        (200, [["lambda"], ["ecs", "eks"]], 99, 99),  # 100 + 100 with the configured ones
        (2, [["lambda"], ["ecs", "eks"]], 0, 0),
        (7, [["lambda"], ["ecs"]], 3, 2),  # the odd one a function
        (4, [["lambda"], ["lambda"]], 0, 2),
        (4, [["eks"]], 2, 1),
    ],
)
def test_added_services_make_the_size_half_lambda_half_ecs(size, configured, functions, containers):
    added = scale_growth.added_services(size, configured)
    assert list(added.values()).count("lambda") == functions
    assert list(added.values()).count("ecs") == containers
    assert len(added) == size - len(configured)


def test_a_size_below_the_configured_services_is_refused():
    with pytest.raises(scale_growth.Refusal, match=r"^--sizes: 1 is not allowed: cdk.json already has 2 services"):
        scale_growth.added_services(1, [["lambda"], ["ecs"]])


def test_the_scaffolding_helper_raises_new_services_own_refusal(tmp_path):
    root = repository_copy(tmp_path / "repository")
    with pytest.raises(ScaffoldRefused, match=r"^new-service: NAME 'Bad_Name' is not allowed: "):
        scaffold(root, {"Bad_Name": "lambda"})


def test_prepare_copies_what_synth_reads_and_scaffolds_beside_cdk_json(tmp_path, config_services):
    root = tmp_path / "repository"
    scale_growth.prepare(root, {"lambda-001": "lambda", "ecs-001": "ecs"})

    services = json.loads((root / "cdk.json").read_text())["context"]["services"]
    assert [s["name"] for s in services] == [*config_services, "lambda-001", "ecs-001"]
    assert (root / "docker" / "lambda-001" / "requirements.lock").is_file()
    for name in ("app.py", "stacks", "constructs"):
        assert (root / name).exists() and not (root / name).is_symlink(), name
    assert (root / ".venv" / "bin" / "python").exists(), "cdk.json's app runs this environment's Python"
    assert (root / "node_modules").resolve() == scale_growth.ROOT / "node_modules"


@pytest.fixture
def config_services() -> list[str]:
    return [s["name"] for s in json.loads((scale_growth.ROOT / "cdk.json").read_text())["context"]["services"]]


@pytest.fixture
def fake_synth(monkeypatch):
    """`prepare` and `synth` replaced (both tested on their own): a copy is its service count, and its synth writes
    one template of 20 resources per service and takes `seconds[services]`, or fails with that text."""
    seconds: dict[int, float | str] = {}

    def prepare(root: Path, services: dict[str, str]) -> None:
        root.mkdir(parents=True)
        (root / "services").write_text(str(len(services) + len(read_settings(scale_growth.ROOT).config.services)))

    def synth(root: Path) -> float:
        services = int((root / "services").read_text())
        if isinstance(seconds[services], str):
            raise scale_growth.SynthFailed(seconds[services])
        write_template(root / "cdk.out" / "DevStack.template.json", resources=20 * services)
        return seconds[services]

    monkeypatch.setattr(scale_growth, "prepare", prepare)
    monkeypatch.setattr(scale_growth, "synth", synth)
    return seconds


# The smallest size the bench takes: the services cdk.json has (a user's own included), and the next two.
N = len(read_settings(scale_growth.ROOT).config.services)
SIZES = f"{N},{N + 1},{N + 2}"


def test_main_prints_each_size_and_the_slopes_and_passes_linear_growth(fake_synth, capsys):
    fake_synth.update({N: 10.0, N + 1: 10.5, N + 2: 11.0})
    assert scale_growth.main(["--sizes", SIZES]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = [line.split() for line in out.splitlines()[1:4]]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (str(N), "10.0s", str(20 * N)),
        (str(N + 1), "10.5s", str(20 * (N + 1))),
        (str(N + 2), "11.0s", str(20 * (N + 2))),
    ]
    assert f"0.500 from {N} to {N + 1} services, 0.500 from {N + 1} to {N + 2}" in out


def test_main_fails_in_one_line_when_growth_is_not_linear(fake_synth, capsys):
    fake_synth.update({N: 10.0, N + 1: 10.5, N + 2: 12.0})
    assert scale_growth.main(["--sizes", SIZES]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scale-growth: synth time per added service grew from 0.500 s")


def test_main_fails_in_one_line_with_the_clis_error_when_a_synth_fails(fake_synth, capsys):
    failure = "RuntimeError: TooManyResourcesInStack: 579 is greater than allowed maximum of 500"
    fake_synth.update({N: 10.0, N + 1: failure})
    assert scale_growth.main(["--sizes", SIZES]) == 1
    assert capsys.readouterr().err == f"scale-growth: {N + 1} services: cdk synth failed: {failure}\n"


@pytest.mark.parametrize("sizes", ["2,50", "50,2,200", "2,x,9", "0,1,2"])
def test_bad_sizes_are_refused_in_one_line(sizes, capsys):
    with pytest.raises(SystemExit) as exit_:
        scale_growth.main(["--sizes", sizes])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"scale-growth: argument --sizes: '{sizes}' is not allowed; allowed: three service counts")


def test_the_error_line_is_the_apps_last_before_the_clis_own():
    output = (
        'Traceback (most recent call last):\n  File "app.py", line 9\n'
        "\x1b[31mRuntimeError: TooManyResourcesInStack: 579 resources\x1b[39m\n\n"
        ".venv/bin/python app.py: Subprocess exited with error 1\n"
    )
    assert scale_growth.last_error_line(output) == "RuntimeError: TooManyResourcesInStack: 579 resources"
