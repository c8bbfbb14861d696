"""A generated prompt's task type follows its text, not its position in the reply (issue 16: `generate`
assigned task types by position and never checked them)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.steps.task_types import checked_task_type
from tests.support.projects import make_project
from tests.support.prompt_script import PromptScript, physics_doc
from tests.test_prompt_pipeline import kept_prompts, recipe, scripted_run

TYPES = ["explain", "compare", "how-to", "troubleshoot", "calculate", "trade-off"]
QUESTION_OF = {
    "explain": "Why does {t} matter for the rest of the field?",
    "compare": "How does {t} differ from the standard picture, side by side?",
    "how-to": "How do I set up a measurement of {t} in a teaching lab?",
    "troubleshoot": "Why doesn't my measurement of {t} match the textbook value, and what went wrong?",
    "calculate": "How much energy is released in {t}, step by step?",
    "trade-off": "What are the pros and cons of studying {t} with lattice methods?",
}


@pytest.mark.parametrize("asked, text, expected", [
    ("explain", "How does a quark differ from a lepton?", ("compare", "relabelled")),
    ("compare", "How does a quark differ from a lepton?", ("compare", "checked")),
    ("explain", "How much energy does a photon of 500 nm carry?", ("calculate", "relabelled")),
    ("explain", "Why doesn't my detector calibration match the simulation?", ("troubleshoot", "relabelled")),
    ("compare", "What is confinement?", ("explain", "relabelled")),
    ("calculate", "Tell me about hadrons.", ("calculate", "asked")),  # shows no type: taken as asked
])
def test_the_label_is_the_type_the_text_shows(asked, text, expected):
    assert checked_task_type(text, asked, TYPES) == expected


def test_a_type_outside_the_recipe_is_never_given():
    assert checked_task_type("What are the pros and cons of lattice QCD?", "explain", ["explain", "compare"]) == \
        ("explain", "checked")


@given(st.text(max_size=200), st.sampled_from(TYPES))
def test_the_label_is_always_one_of_the_recipe_types(text, asked):
    label, how = checked_task_type(text, asked, TYPES)
    assert label in TYPES and how in ("asked", "checked", "relabelled")
    assert (label == asked) == (how != "relabelled")


class ShuffledScript(PromptScript):
    """Writes one question of each asked type, in the reverse of the asked order (as small models do)."""

    def generate(self, user: str) -> dict:
        topic = re.search(r"^Topic: <TOPIC>(.+?)</TOPIC> \(", user, re.MULTILINE).group(1)
        kinds = re.search(r"Question types, in this order: (.+)\.$", user, re.MULTILINE).group(1).split(", ")
        return {"prompts": [QUESTION_OF[kind].format(t=topic) for kind in reversed(kinds)]}


def test_generate_labels_each_prompt_with_the_type_its_text_shows(tmp_path):
    docs = {f"quarks-{i}.md": physics_doc("quarks", f"quark topic {i}") for i in range(4)}
    root = make_project(tmp_path / "p", docs, recipe(target_total=None, per_profile=3, variants_per_prompt=0,
                                                     max_opener_share=1.0))
    scripted_run(root, ShuffledScript())
    seeds = [p for p in kept_prompts(root) if p.meta.get("task_type")]
    assert len(seeds) >= 9
    right = Counter(p.meta["task_type"] == kind for p in seeds
                    for kind, template in QUESTION_OF.items()
                    if p.text.startswith(template.split("{t}")[0]))
    assert right[True] == len(seeds) and right[False] == 0
    # by position, the label of a reversed reply of 3 is right only for the middle one
    relabelled = [p for p in seeds if "task_type_asked" in p.meta]
    assert len(relabelled) >= 2 * len(seeds) // 3 - 1
    assert all(p.meta["task_type_asked"] != p.meta["task_type"] for p in relabelled)


FRAGMENTS = ["how", "how to", "does", "do", "is", "are", "did", "was", "doesn't", "isn't", "didn\u2019t", "why", "what",
             "what is the value", "what are the number", "compare", "comparing", "differ", "difference", "different from",
             "versus", "vs.", "vs", "distinguish", "contrast", "similarity", "step", "steps to", "procedure", "walk",
             "me", "through", "set", "up", "fail", "wrong", "error", "fix", "diagnose", "unexpected", "troubleshoot",
             "not", "working", "match", "agree", "calculate", "compute", "much", "many", "long", "far", "fast",
             "estimate", "trade-off", "tradeoffs", "pros", "and", "cons", "advantages", "disadvantage", "drawback",
             "at", "the", "cost", "expense", "of", "worth", "it", "weigh", "explain", "describe", "quark", "i", "we",
             "you", "one", "can", "should", "magnitude", "?", ",", "-", "'", "a", "lab"]


def shows_by_search(name: str, folded: str) -> bool:
    """Every cue searched, as before the cue words let a text skip the search."""
    from sftgen.steps.task_types import CUES, name_pattern

    cue = CUES.get(name)
    return bool(cue and cue.search(folded)) or name_pattern(name).search(folded) is not None


@settings(max_examples=500)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=14), st.sampled_from(["", " ", "-"]))
def test_a_text_without_a_cues_words_shows_what_searching_every_cue_shows(words, joiner):
    from sftgen.steps.task_types import CUE_WORDS, CUES, shows

    assert set(CUE_WORDS) == set(CUES)
    folded = " ".join((joiner.join(words) if joiner == "-" else " ".join(words)).casefold().split())
    for name in [*TYPES, "lab", "quark"]:
        assert shows(name, folded) == shows_by_search(name, folded), (name, folded)
