"""What `rephrase` and `broaden` write is checked like what `generate` writes. A rewording must still ask
the same thing (its content words and numbers survive, it is still a question, it is no refusal and no
echo of the instruction); a broadened variant must be a new question, not its parent reworded. A broken
rewrite is recorded with its reason and the original goes on."""

from __future__ import annotations

from collections import Counter

from sftgen.steps.prompt_records import reworded_parent, rewording_problem
from tests.support.prompt_script import PromptScript
from tests.test_prompt_pipeline import docs_for, kept_prompts, make_project, progress, recipe, scripted_run

ORIGINAL = "How does a heat engine turn 40 watts of heat into work?"


def reason(problem):
    return problem[0] if problem else None


def test_a_rewording_that_keeps_the_question_passes():
    assert rewording_problem(ORIGINAL, "In practice, how can a heat engine turn 40 watts of heat into work?") is None
    assert rewording_problem(ORIGINAL, "Walk me through how a heat engine turns 40 watts of heat into work.") is None
    assert rewording_problem(ORIGINAL, "I want to understand: how do heat engines turn 40 watts of heat into work?") \
        is None


def test_broken_rewordings_seen_from_a_small_model_are_refused():
    assert reason(rewording_problem(ORIGINAL, "I'm sorry, I can't help with rewording this question.")) == "refusal"
    assert reason(rewording_problem(ORIGINAL, "I am the primary social function of a heat engine and its 40 watts.")) \
        == "not_a_question"
    echoed = "Reword it: start with the situation, keep every fact, number and name; do not answer it. 40?"
    assert reason(rewording_problem(ORIGINAL, echoed)) == "content_changed"
    assert reason(rewording_problem(ORIGINAL, "How does a heat engine turn 400 watts of heat into work?")) \
        == "content_changed"
    assert reason(rewording_problem(ORIGINAL, "Why do refrigerators need 40 watts of electricity at night?")) \
        == "content_changed"
    assert reason(rewording_problem(ORIGINAL, "According to the text, how does it turn 40 watts into work?")) \
        == "not_self_contained"


def test_a_variant_that_only_swaps_a_word_is_its_parent_reworded():
    assert reason(reworded_parent(ORIGINAL, "Why does a heat engine turn 40 watts of heat into work?")) \
        == "reworded_parent"
    assert reason(reworded_parent(ORIGINAL, "How does a heat engine turn 40 milliwatts of heat into work?")) \
        == "reworded_parent"
    assert reworded_parent(ORIGINAL, "What limits the efficiency of a steam turbine in a power station?") is None


class BrokenRewriter(PromptScript):
    """The scripted model, whose rewordings are in turn a refusal, the instruction echoed, a statement and
    another question."""

    BROKEN = ["I'm sorry, I cannot rephrase this question.",
              "Reword it: keep every fact, number and name; do not answer it.",
              "I am the primary social function of quarks and their flavours.",
              "What colour is the sky on a clear summer afternoon?"]

    def __init__(self):
        super().__init__(opener="Could you please explain")
        self.rewrites = 0

    def rephrase(self, user):
        self.rewrites += 1
        return {"rewritten": self.BROKEN[self.rewrites % len(self.BROKEN)]}


def test_broken_rewrites_are_recorded_and_the_originals_go_on(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 2, "gluons": 2, "hadrons": 1}),
                           recipe(target_total=None, per_profile=2, max_opener_share=0.25))
    script = BrokenRewriter()
    scripted_run(project, script)
    prompts = kept_prompts(project)
    assert len(prompts) == 5 * 2 * 2  # every original kept
    assert not any(p.meta.get("rephrased_from") for p in prompts)
    rows = progress(project, "rephrase")
    drops = Counter(row["reason"] for row in rows if row["outcome"] == "dropped")
    assert script.rewrites > 0
    assert sum(drops.values()) == script.rewrites
    assert set(drops) == {"refusal", "content_changed", "not_a_question"}


class RewordingBroadener(PromptScript):
    """The scripted model, whose broadened variants are their parent with one word swapped."""

    def broaden(self, user):
        reply = super().broaden(user)
        original = user.split("Original question: <QUESTION>", 1)[1].split("</QUESTION>", 1)[0]
        return {"variants": [original.replace("Could you please explain", "Could you please describe")
                             for _ in reply["variants"]]}


def test_broadened_variants_that_reword_their_parent_are_dropped_with_that_reason(tmp_path):
    project = make_project(tmp_path / "p", docs_for({"quarks": 1, "gluons": 1, "hadrons": 1}),
                           recipe(target_total=None, per_profile=2, variants_per_prompt=1))
    scripted_run(project, RewordingBroadener(opener="Could you please explain"))
    rows = progress(project, "broaden")
    side = [row for row in rows if row["label"] and " variant " in row["label"]]
    assert side and all((row["outcome"], row["reason"]) == ("dropped", "reworded_parent") for row in side)
    assert not any(p.meta.get("variant_of") for p in kept_prompts(project))
