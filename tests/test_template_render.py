"""A template message renders through jinja's internals where this jinja has them (MessageSource.render_fast,
a third cheaper) and through `Template.render` where it does not: the same text and the same errors either
way, for every template of the package."""

from __future__ import annotations

import re

import jinja2
import jinja2.meta
import pytest
from hypothesis import given, strategies as st

from sftgen.llm.templates import DataEnvironment, MessageSource, Templates, TemplateError, has_fast_render

from tests.test_template_examples import TEMPLATES, RecipeValue


def example_values(templates: Templates, name: str) -> dict:
    names = jinja2.meta.find_undeclared_variables(templates.env.parse(templates.source(name)))
    return {variable: 2 if variable == "count" else RecipeValue() for variable in names}


def steady(text: str) -> str:
    """The text without object addresses (`str.title` of a RecipeValue renders as a bound method)."""
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def both_paths(source: MessageSource) -> tuple[MessageSource, MessageSource]:
    return MessageSource(source.role, source.template, fast=True), MessageSource(source.role, source.template, fast=False)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_package_template_renders_the_same_text_through_both_paths(name):
    templates = Templates()
    values = example_values(templates, name)
    for message in templates.messages_of(name):
        fast, plain = both_paths(message)
        assert steady(fast.render(values)) == steady(plain.render(values)) == steady(message.template.render(**values))
        assert fast.render(values).strip()


def test_this_jinja_has_the_fast_path_and_a_template_without_its_parts_falls_back():
    templates = Templates()
    (message,) = [m for m in templates.messages_of("prompt_filter.jinja") if m.role == "user"]
    assert has_fast_render(message.template) and message.fast

    template = jinja2.Environment().from_string("Hello {{ name }}")
    del template.root_render_func  # a jinja whose Template keeps its render function elsewhere
    assert not has_fast_render(template)
    assert has_fast_render(jinja2.Environment().from_string("x"))
    assert not has_fast_render(jinja2.Environment(enable_async=True).from_string("x"))


def test_a_missing_variable_raises_the_same_error_through_both_paths():
    templates = Templates()
    (message,) = [m for m in templates.messages_of("prompt_filter.jinja") if m.role == "user"]
    fast, plain = both_paths(message)
    errors = []
    for source in (fast, plain):
        with pytest.raises(jinja2.UndefinedError) as raised:
            source.render({"domain": RecipeValue()})
        errors.append(raised.value.message)
    assert errors[0] == errors[1] and "prompt" in errors[0]
    with pytest.raises(TemplateError, match="prompt_filter.jinja"):
        templates.render_messages("prompt_filter.jinja", {"domain": RecipeValue()})


ATTRIBUTES = st.sampled_from(["title", "text", "items", "get", "keys", "__class__", "__name__", "__doc__", "mro",
                              "real", "missing", "index", "count"])
VALUES = st.one_of(
    st.dictionaries(ATTRIBUTES, st.integers(), max_size=4),
    st.builds(lambda pairs: type("DictKind", (dict,), {"title": "its own"})(pairs),
              st.dictionaries(ATTRIBUTES, st.integers(), max_size=3)),
    st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=5), st.none(),
)


def looked_up(environment: jinja2.Environment, value, attribute: str):
    found = environment.getattr(value, attribute)
    if isinstance(found, jinja2.Undefined):
        return ("undefined", found._undefined_name, found._undefined_obj is value)
    return found


@given(value=VALUES, attribute=ATTRIBUTES)
def test_data_environment_looks_up_what_jinjas_environment_does(value, attribute):
    ours, jinjas = Templates().env, jinja2.Environment(undefined=jinja2.StrictUndefined)
    assert isinstance(ours, DataEnvironment)
    assert looked_up(ours, value, attribute) == looked_up(jinjas, value, attribute)


def test_a_dicts_key_renders_as_its_item_and_its_own_attributes_still_come_first():
    template = Templates().env.from_string("{{ p.title }}|{{ p.items is callable }}|{{ p.get('x') }}")
    assert template.render(p={"title": "T", "items": 3, "x": 1}) == "T|True|1"
    with pytest.raises(jinja2.UndefinedError):
        Templates().env.from_string("{{ p.missing }}").render(p={})
