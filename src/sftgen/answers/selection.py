"""Picking one of a prompt's candidate answers: the judge's rubric ranks them, a pairwise comparison of the
two best decides. The comparison is asked twice with the positions swapped (A/B, then B/A), which cancels
a judge's position bias: a candidate wins only when both orders prefer it; when the orders disagree (or
both say tie) it is a tie, and the rubric's best is chosen.

Pure: the step (steps/answer_select.py) asks the LLM and hands the two verdicts in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from sftgen.llm.schemas import Sentence
from sftgen.records import Record

Verdict = Literal["A", "B", "tie"]


class Comparison(BaseModel):
    """The judge's reply to one pairwise comparison: an enum (llama.cpp's grammar keeps it) and one sentence."""

    better: Verdict
    why: Sentence


def score_of(answer: Record) -> float | None:
    score = answer.meta.get("score_mean")
    return float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None


def ranked(candidates: Sequence[Record]) -> list[Record]:
    """Best first by the judge's mean rubric score (unscored last), then by candidate index."""
    return sorted(candidates, key=lambda a: (-(score_of(a) if score_of(a) is not None else -1.0),
                                             a.meta.get("candidate_index", 0)))


@dataclass(frozen=True)
class Pairwise:
    """The two verdicts on (best, second): `first` asked with best as A, `second` with best as B."""

    first: Verdict
    second: Verdict

    def winner(self) -> Literal["best", "second"] | None:
        """Which of the two both orders prefer; None for a tie (the orders disagree, or say tie)."""
        picked = ({"A": "best", "B": "second"}.get(self.first), {"A": "second", "B": "best"}.get(self.second))
        return picked[0] if picked[0] is not None and picked[0] == picked[1] else None  # type: ignore[return-value]


def mean_text(answer: Record) -> str:
    score = score_of(answer)
    return "unscored" if score is None else f"mean {score:g}"


def selection(candidates: Sequence[Record], pairwise: Pairwise | None) -> dict[str, dict[str, Any]]:
    """The selection meta of each kept candidate, by answer id: exactly one `chosen`. `pairwise` is the
    comparison of the two best (None with one candidate)."""
    order = ranked(candidates)
    if len(order) == 1:
        only = order[0]
        dropped = only.meta.get("dropped_candidates") or []
        why = "the only candidate left" + (
            " (" + "; ".join(f"candidate {d['index']} dropped: {d['reason']}" for d in dropped) + ")" if dropped else "")
        return {only.id: choice_meta(True, "only", why, None)}
    if pairwise is None:
        raise ValueError("two or more candidates need the pairwise comparison of the two best")
    best, second = order[0], order[1]
    winner = pairwise.winner()
    chosen, other = (second, best) if winner == "second" else (best, second)
    votes = [pairwise.first.lower(), pairwise.second.lower()]
    if winner is None:
        why = (f"the pairwise judge gave no winner when asked in both orders ({votes[0]} with it as A, "
               f"{votes[1]} with it as B): the rubric's best is chosen ({mean_text(best)} vs {mean_text(second)})")
    else:
        why = (f"the pairwise judge preferred it over candidate {other.meta.get('candidate_index', 0)} in both "
               f"orders (A/B swapped); rubric {mean_text(chosen)} vs {mean_text(other)}")
    result_of = {chosen.id: "tie" if winner is None else "win", other.id: "tie" if winner is None else "loss"}
    meta = {}
    for rank, answer in enumerate(order, 1):
        if answer.id in result_of:
            peer = other if answer is chosen else chosen
            positions = ["a", "b"] if answer is best else ["b", "a"]
            compared = {"other": peer.id, "votes": votes, "positions": positions, "result": result_of[answer.id]}
            chosen_index = chosen.meta.get("candidate_index", 0)
            if answer is chosen:
                reason = why
            elif winner is None:
                reason = (f"compared with candidate {chosen_index}: no winner in both orders, and the rubric "
                          f"ranks candidate {chosen_index} first ({mean_text(chosen)} vs {mean_text(answer)})")
            else:
                reason = f"the pairwise judge preferred candidate {chosen_index} over it in both orders (A/B swapped)"
            meta[answer.id] = choice_meta(answer is chosen, "judge", reason, compared)
        else:
            meta[answer.id] = choice_meta(False, "judge", f"ranked {rank} of {len(order)} on the rubric "
                                                          f"({mean_text(answer)}): not one of the two compared", None)
    return meta


def choice_meta(chosen: bool, by: str, reason: str, pairwise: dict[str, Any] | None) -> dict[str, Any]:
    """As meta updates: `pairwise: None` removes the key (an earlier comparison's), which reads as None."""
    return {"chosen": chosen, "chosen_by": by, "chosen_reason": reason, "judge_chosen": chosen, "pairwise": pairwise}
