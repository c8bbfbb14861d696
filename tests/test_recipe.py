"""recipe.yaml: validated with unknown keys refused, errors naming the key and its line."""

from __future__ import annotations

import pytest

from sftgen.cli import EXAMPLE
from sftgen.recipe import RecipeError, load_recipe

VALID = """\
domain:
  name: law
  subdomains:
    - name: contracts
      share: 0.6
    - name: torts
      share: 0.4
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_the_example_recipe_is_valid():
    recipe = load_recipe(EXAMPLE / "recipe.yaml", env={})
    assert recipe.llm.provider == "embedded"
    assert abs(sum(s.share for s in recipe.domain.subdomains) - 1) < 1e-9


def test_defaults_fill_what_the_recipe_leaves_out(tmp_path):
    recipe = load_recipe(write(tmp_path, VALID), env={})
    assert recipe.sources.folders == ["docs"]
    assert recipe.llm.max_concurrency == 32 and recipe.llm.api_key_env == "OPENAI_API_KEY"


def test_an_unknown_key_is_refused_with_its_name_and_line(tmp_path):
    path = write(tmp_path, VALID + "llm:\n  provider: embedded\n  temprature: 0.3\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(path, env={})
    assert f"{path}:10: unknown key 'llm.temprature'" in str(error.value)


def test_a_bad_value_names_the_field_and_line(tmp_path):
    path = write(tmp_path, VALID + "chunking:\n  size: -5\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(path, env={})
    assert f"{path}:9: 'chunking.size'" in str(error.value)
    assert "greater than 0" in str(error.value)


def test_shares_that_do_not_add_up_are_refused(tmp_path):
    with pytest.raises(RecipeError, match="shares add up to 0.900"):
        load_recipe(write(tmp_path, VALID.replace("0.4", "0.3")), env={})


def test_a_missing_section_is_named(tmp_path):
    with pytest.raises(RecipeError, match="missing key 'domain'"):
        load_recipe(write(tmp_path, "project: x\n"), env={})


def test_invalid_yaml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "domain: [unclosed\n")
    with pytest.raises(RecipeError, match=f"{path}: not valid YAML"):
        load_recipe(path, env={})


def test_environment_variables_override_the_llm_block(tmp_path):
    env = {"SFTGEN_LLM_PROVIDER": "openai", "SFTGEN_LLM_BASE_URL": "http://127.0.0.1:8000/v1",
           "SFTGEN_LLM_MODEL": "qwen"}
    recipe = load_recipe(write(tmp_path, VALID + "llm:\n  provider: embedded\n"), env=env)
    assert (recipe.llm.provider, recipe.llm.base_url, recipe.llm.model) == ("openai", "http://127.0.0.1:8000/v1",
                                                                              "qwen")


def test_provider_openai_needs_a_base_url(tmp_path):
    with pytest.raises(RecipeError, match="needs base_url"):
        load_recipe(write(tmp_path, VALID + "llm:\n  provider: openai\n  model: m\n"), env={})


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path):
    path = write(tmp_path, VALID + "llm:\n  model: a\n  temperature: 0.2\n  model: b\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(path, env={})
    assert f"{path}:11: duplicate key 'llm.model' (also at line 9)" in str(error.value)


def test_a_duplicate_key_is_found_anywhere_in_the_recipe(tmp_path):
    nested = VALID.replace("    - name: torts\n", "    - name: torts\n      name: delicts\n")
    path = write(tmp_path, nested + "domain:\n  name: again\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(path, env={})
    message = str(error.value)
    assert f"{path}:7: duplicate key 'domain.subdomains.1.name' (also at line 6)" in message
    assert f"{path}:9: duplicate key 'domain' (also at line 1)" in message
    assert "domain.name" not in message  # the keys inside the repeated section are not listed again


def test_an_empty_folder_list_is_refused(tmp_path):
    path = write(tmp_path, VALID + "sources:\n  folders: []\n")
    with pytest.raises(RecipeError) as error:
        load_recipe(path, env={})
    assert f"{path}:9: 'sources.folders'" in str(error.value) and "at least 1 item" in str(error.value)


@pytest.mark.parametrize("where, text, key", [
    (4, VALID.replace("name: contracts", "name: ''"), "domain.subdomains.0.name"),
    (2, VALID.replace("name: law", "name: '  '"), "domain.name"),
    (9, VALID + "sources:\n  folders: [docs, '']\n", "sources.folders.1"),
    (9, VALID + "prompts:\n  task_types: [explain, '']\n", "prompts.task_types.1"),
    (8, VALID + "project: ''\n", "project"),
])
def test_an_empty_name_is_refused_with_its_key_and_line(tmp_path, where, text, key):
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as error:
        load_recipe(path, env={})
    assert f"{path}:{where}: '{key}': must not be empty" in str(error.value)
