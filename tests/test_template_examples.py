"""The package's templates carry no example from any one domain: a small model copies what it is shown
(a filter example cited in 19 of 30 explanations, a research query returned verbatim for profiles about
photography). Every template, rendered for a recipe about contract law, says nothing about physics, and
its own words show no ready-made reply to copy."""

from __future__ import annotations

import re

import jinja2.meta
import pytest

from sftgen.llm.templates import PACKAGE_TEMPLATES, Templates

TEMPLATES = sorted(path.name for path in PACKAGE_TEMPLATES.glob("*.jinja"))
PHYSICS = re.compile(r"quark|gluon|hadron|proton|neutron|electron|photon|physic|colour charge|valence", re.I)


class RecipeValue(str):
    """Any value a template asks for, in a recipe about contract law: its fields, its items and its
    length are more of the same, so every branch and loop of the template renders."""

    def __new__(cls, text: str = "contract law"):
        return super().__new__(cls, text)

    def __getattr__(self, name: str) -> "RecipeValue":
        if name.startswith("__"):
            raise AttributeError(name)
        return RecipeValue(f"{self} {name}")

    def __iter__(self):
        return iter([RecipeValue(f"{self} one"), RecipeValue(f"{self} two")])

    def __len__(self) -> int:
        return 2


def rendered(name: str) -> str:
    templates = Templates()
    names = jinja2.meta.find_undeclared_variables(templates.env.parse(templates.source(name)))
    values = {variable: RecipeValue() for variable in names}
    if "count" in values:
        values["count"] = 2
    return "\n".join(message["content"] for message in templates.render_messages(name, values))


def own_words(name: str) -> str:
    """The template's text outside its Jinja expressions and blocks: what it says whatever the recipe."""
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", Templates().source(name), flags=re.S)


def test_every_package_template_is_covered():
    assert len(TEMPLATES) >= 11 and "prompt_filter.jinja" in TEMPLATES


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_rendered_for_another_domain_mentions_no_physics(name):
    text = rendered(name)
    assert "contract law" in text  # the recipe's domain is what the template talks about
    assert not PHYSICS.findall(text), PHYSICS.findall(text)


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_shows_no_finished_reply_to_copy(name):
    text = own_words(name)
    assert not re.search(r'"queries"\s*:\s*\[\s*"', text), "an example list of queries"
    assert not re.search(r"\[\d+(,\s*\d+)*\]", text), "an example citation with real numbers"
    assert not re.search(r"\(e\.g\.[^)]*\"", text), "a quoted example of a verdict's case"
