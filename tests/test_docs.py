"""The docs: generated pages match the code, the README stays short, no page speaks of how it was made."""

from __future__ import annotations

import re
import runpy

import pytest
from support import ROOT

from graviton.guardrails.rules.pack import RULES
from graviton_app.config import AppConfig, EnvironmentConfig, ServiceConfig, UsageConfig

GENERATOR = runpy.run_path(str(ROOT / "scripts" / "generate_docs.py"))
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("page", sorted(GENERATOR["PAGES"]))
def test_generated_pages_match_the_code(page):
    assert (ROOT / page).read_text() == GENERATOR["PAGES"][page](), f"{page} is stale: run make docs"


def test_the_configuration_page_names_every_setting_with_its_description():
    page = (ROOT / "docs" / "configuration.md").read_text()
    for model in (AppConfig, EnvironmentConfig, ServiceConfig, UsageConfig):
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in page
            assert field.description, f"{model.__name__}.{name} needs a description for the reference"
            assert field.description.replace("|", "\\|") in page


def test_the_guard_rules_page_names_every_rule_and_fix():
    page = (ROOT / "docs" / "guard-rules.md").read_text()
    for rule in RULES:
        assert f"## `{rule.id}`: {rule.title}" in page and rule.fix in page


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_page_speaks_of_how_it_was_made(page):
    found = re.findall(r"the issue|this issue|issue asked|as asked|was asked", page.read_text(), re.IGNORECASE)
    assert not found, f"{page.name}: {found}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_between_pages_resolve(page):
    for target in re.findall(r"\]\(((?:\./|\.\./)?(?:docs/)?[\w.-]+\.(?:md|svg))(?:#[\w-]+)?\)", page.read_text()):
        assert (page.parent / target).resolve().is_file(), f"{page.name} links to {target}, which does not exist"
