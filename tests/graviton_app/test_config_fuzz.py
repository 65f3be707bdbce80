"""Property-based: whatever cdk.json's context or a `-c` override holds, loading it is accepted or refused in one
line that names the key, shows the value cut to `messages.SHOWN_CHARS` and says what is allowed; never a traceback.

Each example starts from the committed context and replaces, deletes or adds keys at any depth (top level, an
environment, a service, its route, usage) with generated JSON. `make fuzz` runs the same with thousands of examples.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import ROOT, error_for, repo_context

from graviton_app.config import AppConfig, ConfigError, EnvironmentConfig, RouteConfig, ServiceConfig, load_config
from graviton_app.config import UsageConfig as Usage
from graviton_app.context import ContextError, read_context
from graviton_app.messages import ELLIPSIS, SHOWN_CHARS

pytestmark = pytest.mark.fuzz

COMMITTED = repo_context()
LONG = "a" * 300
# Text that has broken refusals or the file system before, and text that looks like something else.
TRICKY_TEXT = st.sampled_from(
    [LONG, "../x", "/etc", "/", ".", "..", "", " ", "x\x00y", "x\ny", "\u2028", "é" * 70, "1", "-1", "true", "null",
     "[1, \"a\"]", "{}", "dev,prod", "-c", "--help", "api", "web", "Dockerfile"]
)  # fmt: skip
# Long text is one character repeated: drawing each of 300 characters would cost more than the load it tests.
LONG_TEXT = st.builds(lambda part, times: part * times, st.text(min_size=1, max_size=3), st.integers(61, 400))
TEXT = st.one_of(TRICKY_TEXT, st.text(max_size=20), LONG_TEXT)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.one_of(TEXT, st.sampled_from(("name", "path"))), inner, max_size=4),
    max_leaves=5,
)  # fmt: skip
# A key to add: every setting's own name (so a route or usage block appears where it was not), and anything else.
SETTING_NAMES = sorted({*AppConfig.model_fields, *EnvironmentConfig.model_fields, *ServiceConfig.model_fields,
                        *RouteConfig.model_fields, *Usage.model_fields, "dev", "test", "prod", "max_image_count"})  # fmt: skip
KEYS = st.one_of(st.sampled_from(SETTING_NAMES), TEXT)


def places(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every key and list item in the context (CDK's own `@...` keys left out: the loader leaves them alone)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if path or not key.startswith("@"):
                yield (*path, key)
                yield from places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index)
            yield from places(value, (*path, index))


def containers(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every object and list in the context, the context itself first."""
    if isinstance(node, dict | list):
        yield path
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if path or not str(key).startswith("@"):
                yield from containers(value, (*path, key))


def at(context: Any, path: tuple) -> Any:
    for part in path:
        context = context[part]
    return context


@st.composite
def mutated_contexts(draw: st.DrawFn) -> tuple[dict, list[Any]]:
    """The committed context after one to four replacements, deletions or additions; and what they put in it."""
    context = copy.deepcopy(COMMITTED)
    given: list[Any] = []
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(("replace", "delete", "add")))
        if action == "add":
            path = draw(st.sampled_from(list(containers(context))))
            holder, value = at(context, path), draw(JSON)
            if isinstance(holder, dict):
                key = draw(KEYS)
                holder[key] = value
                given.append(key)
            else:
                holder.append(value)
        else:
            path = draw(st.sampled_from(list(places(context))))
            holder = at(context, path[:-1])
            if action == "delete":
                del holder[path[-1]]
                continue
            value = draw(JSON)
            holder[path[-1]] = value
        given.append(value)
    return context, given


def texts_in(values: list[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, dict):
            yield from texts_in([*value, *value.values()])
        elif isinstance(value, list):
            yield from texts_in(value)
        elif isinstance(value, str):
            yield value


ORIGIN = r"(cdk\.json|cdk\.context\.json|-c [^:]+)"
# What a refusal says about what is allowed (each of the loader's lines says one of them).
ALLOWED_WORDS = ("allowed", "must", "required", "unique", "remove", "needs", "set both", "go together")


def assert_one_line_refusal(message: str, given: list[Any]) -> None:
    assert message.splitlines() == [message] and message == message.strip(), repr(message)
    assert re.match(rf"^{ORIGIN}: ", message), message
    assert re.search(r"'[^']+'", message), f"names no key: {message}"
    assert any(word in message for word in ALLOWED_WORDS), f"says nothing of what is allowed: {message}"
    assert "Traceback" not in message and not re.search(r"\b[A-Z]\w*(Error|Exception)\b|Errno", message), message
    for text in texts_in(given):
        if len(text) > SHOWN_CHARS:
            assert text not in message and json.dumps(text) not in message, f"echoes {len(text)} characters whole"


@given(mutated_contexts())
def test_any_mutation_of_the_context_is_accepted_or_refused_in_one_line(mutation):
    context, given_values = mutation
    try:
        load_config(context, root=ROOT)
    except ConfigError as err:
        assert_one_line_refusal(str(err), given_values)


def dotted_keys(node: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """`environments.dev.region`, `services.web.targets`, ...: every setting of the committed context by its `-c`
    name (a service by its name)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if path or not key.startswith("@"):
                yield ".".join((*path, key))
                yield from dotted_keys(value, (*path, key))
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and "name" in item:
                yield ".".join((*path, str(item["name"])))
                yield from dotted_keys(item, (*path, str(item["name"])))


OVERRIDE_KEYS = st.one_of(
    st.sampled_from(sorted(set(dotted_keys(COMMITTED)))),
    st.sampled_from(["services.web.route.path", "services.api.route", "environments.dev.usage.eks_node_hours"]),
    st.builds(lambda key, extra: f"{key}.{extra}", st.sampled_from(SETTING_NAMES), st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True)),
    TEXT,
)  # fmt: skip
OVERRIDE_VALUES = st.one_of(TEXT, JSON.map(json.dumps))


@given(st.lists(st.tuples(OVERRIDE_KEYS, OVERRIDE_VALUES), min_size=1, max_size=3), st.booleans())
def test_any_override_is_accepted_or_refused_in_one_line(overrides, with_separator):
    given_values = [part for pair in overrides for part in pair]
    arguments = [f"{key}={value}" if with_separator else f"{key}{value}" for key, value in overrides]
    warnings: list[str] = []
    try:
        context = read_context(ROOT, arguments, environ={}, warn=warnings.append)
        load_config(context.values, root=ROOT, origin=context.origin)
    except ContextError as err:
        message = str(err)
        assert message.splitlines() == [message] and message.startswith("-c "), repr(message)
        for text in texts_in(given_values):
            assert len(text) <= SHOWN_CHARS or text not in message, f"echoes {len(text)} characters whole"
    except ConfigError as err:
        assert_one_line_refusal(str(err), given_values)
    for warning in warnings:
        assert warning.splitlines() == [warning], repr(warning)


# The examples that raised before the loader stopped asking the file system about any name.
@pytest.mark.parametrize(
    "key, value",
    [("folder", LONG), ("dockerfile", LONG), ("folder", "x\x00y"), ("dockerfile", "x\x00y"), ("folder", "é" * 200)],
)
def test_a_name_the_file_system_cannot_take_is_refused_as_missing(key, value):
    message = error_for(lambda context: context["services"][0].update({key: value}))
    assert message.startswith(f"cdk.json: 'services[0]{'.folder' if key == 'folder' else ''}' = "), message
    assert "does not exist" in message or "must name an existing folder" in message
    assert ELLIPSIS in message or "\\u0000" in message


def test_a_long_value_or_key_is_shown_cut_with_an_ellipsis():
    cut = json.dumps(LONG)[: SHOWN_CHARS - 1] + ELLIPSIS
    assert f"= {cut} is not allowed" in error_for(lambda context: context.update(project=LONG))
    assert f"unknown context key '{LONG[: SHOWN_CHARS - 1]}{ELLIPSIS}'" in error_for(lambda c: c.update({LONG: 1}))
    message = error_for(lambda context: context["environments"]["dev"].update({f"x\n{LONG}": 1}))
    assert f"unknown key 'x\\n{LONG[: SHOWN_CHARS - 4]}{ELLIPSIS}'" in message
