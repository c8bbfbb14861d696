"""A template message renders through jinja's internals where this jinja has them (MessageSource.render_fast,
a third cheaper) and through `Template.render` where it does not: the same text and the same errors either
way, for every template of the package."""

from __future__ import annotations

import re

import jinja2
import jinja2.meta
import pytest

from sftgen.llm.templates import MessageSource, Templates, TemplateError, has_fast_render

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
