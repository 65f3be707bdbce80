"""A service's own settings in cdk.json: documented defaults, and one line naming the key for each bad value or
combination. The changes go to cdk.json's first service, given the targets each setting needs."""

from __future__ import annotations

import copy

import pytest
from support import ROOT, repo_context

from graviton.constants import FARGATE_MEMORY
from graviton.workloads.container_settings import ContainerSettings
from graviton_app.config import SERVICE_SETTING_TARGETS, ConfigError, load_config


def first_service(**settings) -> dict:
    context = copy.deepcopy(repo_context())
    context["services"][0].update(settings)
    return context


def error_for(**settings) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(first_service(**settings), root=ROOT)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_services_without_their_own_settings_get_the_libraries_defaults_and_no_size_of_their_own():
    config = load_config(repo_context(), root=ROOT)
    for service in config.services:
        settings = ContainerSettings(
            port=service.port,
            health_path=service.health_path,
            health_check=service.health_check,
            user=service.user,
            read_only_root=service.read_only_root,
        )
        assert settings == ContainerSettings()
        sizes = (service.ecs_cpu, service.ecs_memory_mb, service.ecs_min_tasks, service.ecs_max_tasks)
        assert sizes == (None, None, None, None)
        assert (service.lambda_memory_mb, service.lambda_timeout_seconds) == (None, None)


def test_own_sizes_win_and_unset_ones_are_the_environments():
    config = load_config(first_service(targets=["ecs"], ecs_cpu=1024, ecs_memory_mb=2048, ecs_max_tasks=5), root=ROOT)
    for name, environment in config.environments.items():
        assert config.ecs_sizes(config.services[0], name) == (1024, 2048, environment.ecs_min_tasks, 5)


@pytest.mark.parametrize("spelling", ["none", None])
def test_health_check_none_or_null_turns_the_container_check_off(spelling):
    config = load_config(first_service(targets=["ecs"], health_check=spelling), root=ROOT)
    assert config.services[0].health_check is None


def test_a_health_check_command_is_kept_as_given():
    command = ["CMD-SHELL", "wget -qO- http://127.0.0.1:9000/ready || exit 1"]
    config = load_config(first_service(targets=["ecs"], health_check=command), root=ROOT)
    assert config.services[0].health_check == command


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"targets": ["ecs"], "port": 22}, "'services[0].port' = 22 is not allowed: must be 1024 to 65535"),
        ({"targets": ["ecs"], "port": 70000}, "'services[0].port' = 70000 is not allowed: must be 1024 to 65535"),
        ({"targets": ["eks"], "port": "8080"}, "'services[0].port' = \"8080\" is not allowed: must be a valid integer"),
        (
            {"targets": ["ecs"], "health_path": "health"},
            "'services[0].health_path' = \"health\" is not allowed: must be a URL path starting with '/'",
        ),
        (
            {"targets": ["ecs"], "health_path": "/it's"},
            "'services[0].health_path' = \"/it's\" is not allowed: must be a URL path",
        ),
        (
            {"targets": ["ecs"], "health_check": "curl"},
            "'services[0].health_check' = \"curl\" is not allowed: must be 'python', 'none' or a command list"
            " starting with 'CMD' or 'CMD-SHELL'",
        ),
        (
            {"targets": ["ecs"], "health_check": ["curl", "-f", "http://127.0.0.1:8080/health"]},
            "'services[0].health_check' = <list> is not allowed: must be 'python', 'none' or a command list",
        ),
        ({"targets": ["ecs"], "user": "0:0"}, "'services[0].user' = \"0:0\" is not allowed: must not be root"),
        ({"targets": ["eks"], "user": "app"}, "'services[0].user' = \"app\" is not allowed: must be numeric 'uid:gid'"),
        (
            {"targets": ["ecs"], "read_only_root": "no"},
            "'services[0].read_only_root' = \"no\" is not allowed: must be a valid boolean",
        ),
        (
            {"targets": ["ecs"], "ecs_cpu": 300},
            "'services[0].ecs_cpu' = 300 is not allowed: must be a Fargate size: 256, 512, 1024, 2048, 4096",
        ),
        (
            {"targets": ["ecs"], "ecs_min_tasks": 0},
            "'services[0].ecs_min_tasks' = 0 is not allowed: must be greater than or equal to 1",
        ),
        (
            {"targets": ["lambda"], "lambda_timeout_seconds": 901},
            "'services[0].lambda_timeout_seconds' = 901 is not allowed: must be less than or equal to 900",
        ),
        (
            {"targets": ["lambda"], "lambda_memory_mb": 64},
            "'services[0].lambda_memory_mb' = 64 is not allowed: must be greater than or equal to 128",
        ),
        (
            {"targets": ["ecs"], "ecs_cpu": 1024, "ecs_memory_mb": 1024},
            "'services[0].ecs_memory_mb' = 1024 is not allowed: does not fit its ecs_cpu 1024; allowed with it:"
            " 2048 to 8192",
        ),
        ({"targets": ["ecs"], "prot": 8080}, "'services[0]' = <dict> is not allowed: unknown key 'prot'"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(settings, expected):
    assert expected in error_for(**settings)


def test_own_memory_that_does_not_fit_an_environments_cpu_names_the_environment():
    config = load_config(repo_context(), root=ROOT)
    name, environment = min(config.environments.items(), key=lambda item: item[1].ecs_cpu)
    too_much = max(memory for sizes in FARGATE_MEMORY.values() for memory in sizes)
    message = error_for(targets=["ecs"], ecs_memory_mb=too_much)
    assert message.startswith(f"cdk.json: 'services[0].ecs_memory_mb' = {too_much} is not allowed: does not fit")
    assert f"environments.{name}'s ecs_cpu {environment.ecs_cpu}" in message


def test_own_cpu_that_an_environments_memory_does_not_fit_asks_for_memory_too():
    config = load_config(repo_context(), root=ROOT)
    memory = min(environment.ecs_memory_mb for environment in config.environments.values())
    cpu = next(cpu for cpu, sizes in FARGATE_MEMORY.items() if memory not in sizes)
    message = error_for(targets=["ecs"], ecs_cpu=cpu)
    assert message.startswith(f"cdk.json: 'services[0].ecs_cpu' = {cpu} is not allowed:")
    assert f"ecs_memory_mb {memory} does not fit it; set services[0].ecs_memory_mb too" in message


def test_own_task_bounds_that_cross_an_environments_are_refused():
    config = load_config(repo_context(), root=ROOT)
    highest_min = max(environment.ecs_min_tasks for environment in config.environments.values())
    lowest_max = min(environment.ecs_max_tasks for environment in config.environments.values())
    assert (
        error_for(targets=["ecs"], ecs_max_tasks=highest_min - 1 or 1).startswith(
            "cdk.json: 'services[0].ecs_max_tasks' = "
        )
        or highest_min == 1
    )
    message = error_for(targets=["ecs"], ecs_min_tasks=lowest_max + 1)
    assert message.startswith(f"cdk.json: 'services[0].ecs_min_tasks' = {lowest_max + 1} is not allowed:")
    assert "allowed: ecs_min_tasks at most ecs_max_tasks" in message


# A valid value of each: what is refused is the key, on a service that would not use it.
VALID = {
    "port": 9000,
    "health_path": "/ready",
    "health_check": "none",
    "user": "20001:20001",
    "read_only_root": False,
    "ecs_cpu": 512,
    "ecs_memory_mb": 1024,
    "ecs_min_tasks": 1,
    "ecs_max_tasks": 3,
    "lambda_memory_mb": 1024,
    "lambda_timeout_seconds": 20,
    "route": {"path": "/elsewhere"},
}


@pytest.mark.parametrize(("key", "targets"), SERVICE_SETTING_TARGETS.items())
def test_a_setting_no_target_of_the_service_uses_is_refused(key, targets):
    unused = [target for target in ("lambda", "ecs", "eks") if target not in targets]
    value = VALID[key]
    message = error_for(targets=unused, **{key: value})
    assert message.startswith(f"cdk.json: 'services[0].{key}' = ")
    named = " and ".join(repr(target) for target in targets)
    assert f"applies to the {named} target" in message and "remove the key" in message
