"""`judge` preference pairs: the pairwise judge's winner over the loser, only for a win (not a tie) and only
when the winner's mean rubric score leads the loser's by at least `answers.preference_margin`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.answers.selection import Pairwise, selection
from sftgen.export.preferences import judge_preferences, preference_rows
from sftgen.records import Record

MEANS = st.integers(min_value=3, max_value=15).map(lambda total: round(total / 3, 3))
"""The mean of three 1-5 scores."""


def candidate(prompt: Record, index: int, mean: float) -> Record:
    return Record(kind="answer", text=f"Candidate answer number {index}.", parent_ids=[prompt.id],
                  origin=f"rag#candidate{index}",
                  meta={"prompt_id": prompt.id, "candidate_index": index, "candidates": 3, "score_mean": mean})


def judged(means: list[float], first: str, second: str) -> tuple[Record, list[Record]]:
    """A prompt's candidates with the selection meta answer_select writes for these two verdicts."""
    prompt = Record(kind="prompt", text="What does the clause say?")
    candidates = [candidate(prompt, index, mean) for index, mean in enumerate(means)]
    chosen = selection(candidates, Pairwise(first, second))
    for answer in candidates:
        answer.meta.update({k: v for k, v in chosen[answer.id].items() if v is not None})
    return prompt, candidates


@settings(max_examples=200, deadline=None)
@given(means=st.lists(MEANS, min_size=2, max_size=4), first=st.sampled_from(["A", "B", "tie"]),
       second=st.sampled_from(["A", "B", "tie"]), margin=st.floats(min_value=0, max_value=4, allow_nan=False))
def test_a_judge_pair_is_a_win_by_at_least_the_margin(means, first, second, margin):
    prompt, candidates = judged(means, first, second)
    assert sum(bool(c.meta["chosen"]) for c in candidates) == 1
    rows = list(preference_rows(judge_preferences(prompt, candidates, margin)))
    wins = [c for c in candidates if (c.meta.get("pairwise") or {}).get("result") == "win"]
    # A win needs both orders to prefer the same answer: "A" first (best shown first) and "B" second, or the reverse.
    assert bool(wins) == ((first, second) in {("A", "B"), ("B", "A")})
    expected = []
    for winner in wins:
        loser = next(c for c in candidates if c.id == winner.meta["pairwise"]["other"])
        if round(winner.meta["score_mean"] - loser.meta["score_mean"], 3) >= margin:
            expected.append((winner.id, loser.id))
    assert [(row["chosen_id"], row["rejected_id"]) for row in rows] == expected
    for row in rows:
        assert row["source"] == "judge" and row["reviewer"] is None
        assert row["chosen_score"] - row["rejected_score"] >= margin - 1e-9
        assert row["chosen"][0]["content"] != row["rejected"][0]["content"]
        assert row["prompt"] == [{"role": "user", "content": prompt.text}]


@given(means=st.lists(MEANS, min_size=2, max_size=4))
def test_the_orders_disagreeing_is_a_tie_the_rubrics_best_is_chosen_and_no_pair_is_made(means):
    prompt, candidates = judged(means, "A", "A")  # each order prefers whichever answer is shown first
    chosen = [c for c in candidates if c.meta["chosen"]]
    assert chosen[0].meta["score_mean"] == max(means)
    assert chosen[0].meta["pairwise"]["result"] == "tie"
    assert judge_preferences(prompt, candidates, 0.0) == []
