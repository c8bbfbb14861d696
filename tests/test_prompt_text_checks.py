"""Prompts the embedded model wrote for the README example that passed our checks and reached the LLM
filter (which kept one of them): fragments that name nothing to ask about, and questions about "the
passage" that a reader of the dataset never sees. They are dropped before any request; real questions,
short ones too, still pass, also with a sentence "This topic ..." after them (a question "on this topic"
or "explain this topic" leans on a text the reader lacks), and the task type a
small model writes before a question is taken off."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.steps.prompt_records import unusable_prompt, without_label

SEEN_GARBAGE = {
    "how-to questions": "too_vague",
    "Explain and compare": "too_vague",
    "how to ask about it": "too_vague",
    "What about the passage?": "not_self_contained",
    "What is this text about?": "not_self_contained",
    "Explain this topic in a non-fascinating way.": "not_self_contained",
    "How can I avoid asking those questions that could hinder research on this topic?": "not_self_contained",
}
REAL_QUESTIONS = [
    "How does the Higgs field work?",
    "How heavy are gluons? How heavy are quarks?",
    "What is a quark?",
    "Explain confinement.",
    "Why is 2 + 2 equal to 4?",
    "Compare the text of the two contract clauses on liability.",
    "Quelle est la masse du quark top ?",
    "What are the most important quantum processes? This topic explores one key process.",
]


@pytest.mark.parametrize("text,reason", SEEN_GARBAGE.items())
def test_fragments_and_references_to_an_unseen_text_are_dropped(text, reason):
    problem = unusable_prompt(text, set())
    assert problem is not None and problem[0] == reason
    assert text in problem[1]


@pytest.mark.parametrize("text", REAL_QUESTIONS)
def test_real_questions_pass(text):
    assert unusable_prompt(text, set()) is None


def test_a_task_type_written_before_the_question_is_taken_off():
    types = ["explain", "how-to", "trade-off"]
    assert without_label("trade-off: how do quark masses fit into a model of a hadron?", types) == \
        "how do quark masses fit into a model of a hadron?"
    assert without_label("How-to - build a cloud chamber at home?", types) == "build a cloud chamber at home?"
    assert without_label("Explain why the sky is blue.", types) == "Explain why the sky is blue."
    assert unusable_prompt(without_label("trade-off, explain", types), set()) is not None


SELF_REFERENCE_FRAGMENTS = ["according to", "based on", "in", "from", "as described in", "as stated in", "the", "this",
                            "This", "THE", "text", "passage", "document", "article", "excerpt", "above", "chunk",
                            "context", "following", "topic", "subject", "on", "about", "of", "regarding", "explain",
                            "describe", "discuss", "quarks", "What", "is", "?", ",", "\u017f", "\u212a", "Ünï"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(SELF_REFERENCE_FRAGMENTS), max_size=12), st.sampled_from([" ", "  ", "\n", "-"]))
def test_the_self_reference_words_only_spare_texts_the_pattern_finds_nothing_in(words, joiner):
    from sftgen.steps.prompt_records import NOT_SELF_CONTAINED, self_contained

    text = joiner.join(words)
    assert self_contained(text) == (NOT_SELF_CONTAINED.search(text) is None), text
