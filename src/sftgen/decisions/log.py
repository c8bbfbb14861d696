"""Reviewers' decisions, kept in the store's append-only `reviews` table, and what they add up to.

A decision is about one pipeline item (the prompt or answer as the pipeline made it: `item_id`) and the
version of it the reviewer saw (`version_id`). An edit never overwrites: it makes a new record of the same
kind whose parent is the version edited (meta `edited_from`, `version`, `original_id`), and the decision
points at it (`new_version_id`). A pick (`picked`) is an accept or an edit of one of a prompt's candidate
answers (answers.candidates >= 2) that also says it is the best of them: the answer review gate makes it the
prompt's chosen answer (`chosen_by: "expert"`) and the others not chosen, so recording one also makes the gate
look again at the prompt's other candidates (`recheck`). Recording a decision makes the item's review gate look at it again on
the next `sftgen run` (its progress row is forgotten), so the decision flows into the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sftgen.core.graph import Pipeline
from sftgen.records import Record
from sftgen.store import Store

ACCEPT, REJECT, EDIT = "accept", "reject", "edit"
DECISIONS = (ACCEPT, REJECT, EDIT)
PENDING, ACCEPTED, REJECTED, EDITED, DISPUTED = "pending", "accepted", "rejected", "edited", "disputed"
STALE_AFTER_EDIT = {"llm_cache_keys", "scores", "score_mean", "needs_review"}

class DecisionError(ValueError):
    """A decision that cannot be recorded; the message names the item and what is wrong."""


def combined_reason(listed: str | None, text: str | None) -> str | None:
    """A reason picked from the recipe's list and one in the reviewer's words, both kept: "listed: text"."""
    listed, text = (listed or "").strip(), (text or "").strip()
    if listed and text and not text.startswith(listed):
        return f"{listed}: {text}"
    return text or listed or None


@dataclass
class Decision:
    item_id: str
    kind: str
    version_id: str
    reviewer: str
    decision: str
    reason: str | None = None
    edited_text: str | None = None
    scores: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    source: str = "web"
    external_id: str | None = None
    """The annotation's id in the tool it was imported from: importing the same file twice adds nothing."""
    new_version_id: str | None = None
    picked: bool = False
    """The reviewer picked this answer as the best of its prompt's candidates (an accept or an edit)."""
    created_at: float = 0.0
    seq: int = 0

    @property
    def verdict(self) -> str:
        """accept or reject: an edit accepts the edited text."""
        return REJECT if self.decision == REJECT else ACCEPT

    @property
    def passed_version(self) -> str | None:
        """The version this decision lets through (None for a rejection)."""
        if self.decision == EDIT:
            return self.new_version_id
        return self.version_id if self.decision == ACCEPT else None


@dataclass
class ItemState:
    status: str
    version_id: str
    """The version the pipeline passes on: the latest accepted (or edited) one, else the original."""
    decisions: list[Decision]

    @property
    def reviewers(self) -> list[str]:
        return sorted({decision.reviewer for decision in self.decisions})


def resolve(item_id: str, decisions: list[Decision], reviews_required: int) -> ItemState:
    """The latest decision of each reviewer counts. An item is settled when the `reviews_required` reviewers
    who decided last agree on accept vs reject; if they disagree it is disputed (a further review settles it)."""
    latest: dict[str, Decision] = {}
    for decision in sorted(decisions, key=lambda d: d.seq):
        latest.pop(decision.reviewer, None)
        latest[decision.reviewer] = decision  # re-inserted: dict order is the order of latest decisions
    if len(latest) < reviews_required:
        return ItemState(PENDING, item_id, decisions)
    deciding = list(latest.values())[-reviews_required:]
    verdicts = {decision.verdict for decision in deciding}
    if len(verdicts) > 1:
        return ItemState(DISPUTED, item_id, decisions)
    if verdicts == {REJECT}:
        return ItemState(REJECTED, item_id, decisions)
    version = deciding[-1].passed_version or item_id
    return ItemState(EDITED if version != item_id else ACCEPTED, version, decisions)


def pick_among(states: dict[str, ItemState]) -> Decision | None:
    """Of one prompt's candidates (id -> state), the latest pick of one that is accepted or edited now."""
    latest: Decision | None = None
    for state in states.values():
        if state.status not in (ACCEPTED, EDITED):
            continue
        for decision in state.decisions:
            if decision.picked and (latest is None or decision.seq > latest.seq):
                latest = decision
    return latest


def group_state(lead_id: str, states: dict[str, ItemState]) -> ItemState:
    """One prompt's candidates reviewed as one item: settled by a pick in force (as the picked candidate's
    state), rejected when every candidate is, else disputed or pending."""
    decisions = sorted((d for state in states.values() for d in state.decisions), key=lambda d: d.seq)
    pick = pick_among(states)
    if pick is not None:
        picked = states[pick.item_id]
        return ItemState(picked.status, picked.version_id, decisions)
    statuses = {state.status for state in states.values()}
    if statuses == {REJECTED}:
        return ItemState(REJECTED, lead_id, decisions)
    return ItemState(DISPUTED if DISPUTED in statuses else PENDING, lead_id, decisions)


class ReviewLog:
    """The decisions in a store, checked on the way in and resolved on the way out."""

    def __init__(self, store: Store, pipeline: Pipeline | None = None):
        self.store = store
        self.pipeline = pipeline
        """Whose review gates a recorded decision sends its item back through (None: a log only read)."""

    def record(self, decision: Decision, recheck: list[str] | tuple[str, ...] = ()) -> Decision:
        """Store one decision (and, for an edit, the new version) in one transaction; the item's review
        gate will look at it again on the next run, and at the items in `recheck` (the other candidates of
        a picked answer's prompt)."""
        if self.pipeline is None:
            raise ValueError("a review log opened without the pipeline can be read, not written")
        self.check(decision)
        now = time.time()
        with self.store.transaction():
            if decision.decision == EDIT:
                decision.new_version_id = self._new_version(decision).id
            seq = self.store.reviews.insert(
                item_id=decision.item_id, kind=decision.kind, version_id=decision.version_id,
                reviewer=decision.reviewer, decision=decision.decision, reason=decision.reason,
                edited_text=decision.edited_text, new_version_id=decision.new_version_id,
                scores=json.dumps(decision.scores) if decision.scores else None, source=decision.source,
                external_id=decision.external_id, seconds=decision.seconds, created_at=now, picked=decision.picked,
            )
            self.store.forget_progress(self.pipeline.gate_for(decision.kind).name, [decision.item_id, *recheck])
        decision.seq, decision.created_at = seq, now
        return decision

    def check(self, decision: Decision) -> None:
        where = f"{decision.kind} {decision.item_id}"
        if self.pipeline.gate_for(decision.kind) is None:
            raise DecisionError(f"{where}: only prompts and answers are reviewed, and only where the pipeline has "
                                f"their review gate")
        if decision.decision not in DECISIONS:
            raise DecisionError(f"{where}: decision '{decision.decision}' is not one of {', '.join(DECISIONS)}")
        if not decision.reviewer.strip():
            raise DecisionError(f"{where}: the reviewer has no name")
        if self.store.get(decision.item_id) is None:
            raise DecisionError(f"{where}: no such record in the store")
        version = self.store.get(decision.version_id)
        if version is None or version.kind != decision.kind:
            raise DecisionError(f"{where}: version {decision.version_id} is not a {decision.kind} in the store")
        if version.id != decision.item_id and version.meta.get("original_id") != decision.item_id:
            raise DecisionError(f"{where}: {decision.version_id} is not a version of this item")
        if decision.decision == EDIT and not (decision.edited_text or "").strip():
            raise DecisionError(f"{where}: an edit needs the edited text")
        if decision.picked and (decision.kind != "answer" or decision.decision == REJECT):
            raise DecisionError(f"{where}: only an answer that is accepted or edited can be picked")
        if decision.decision == REJECT and not (decision.reason or "").strip():
            raise DecisionError(f"{where}: a rejection needs a reason")
        for dimension, score in decision.scores.items():
            if not isinstance(score, int) or not 1 <= score <= 5:
                raise DecisionError(f"{where}: score '{dimension}' = {score!r}, expected an integer 1-5")

    def _new_version(self, decision: Decision) -> Record:
        base = self.store.get(decision.version_id)
        # The LLM judge scored the old text: its scores would mislabel the edit; the reviewer's go with it.
        meta = {key: value for key, value in base.meta.items() if key not in STALE_AFTER_EDIT}
        if decision.scores:
            meta["expert_scores"] = dict(decision.scores)
        meta.update(
            edited_from=base.id, version=int(base.meta.get("version", 1)) + 1, original_id=decision.item_id,
            edited_by=decision.reviewer,
        )
        record = Record(kind=base.kind, text=decision.edited_text.strip(), parent_ids=[base.id], meta=meta,
                        origin="review", step="review")
        self.store.put_records([record])  # joins the decision's transaction
        return record

    # ---- reading -------------------------------------------------------------------------------

    def decisions(self, item_ids: list[str] | None = None, kind: str | None = None) -> list[Decision]:
        return [row_to_decision(row) for row in self.store.reviews.select(item_ids, kind)]

    def of_items(self, item_ids: list[str]) -> dict[str, list[Decision]]:
        """The decisions about each of these items, in one query (an item nobody decided on: an empty list)."""
        wanted = list(dict.fromkeys(item_ids))
        return grouped_by(wanted, ((decision.item_id, decision) for decision in self.decisions(wanted)))

    def by_item(self, kind: str | None = None) -> dict[str, list[Decision]]:
        return grouped_by((), ((decision.item_id, decision) for decision in self.decisions(kind=kind)))

    def picks(self, kind: str = "answer", prompt_id: str | None = None) -> list[Decision]:
        """Decisions that picked a candidate (of this prompt, when given)."""
        return [row_to_decision(row) for row in self.store.reviews.picked(kind, prompt_id)]

    def picks_of_prompts(self, prompt_ids: list[str], kind: str = "answer") -> dict[str, list[Decision]]:
        """`picks` of each of these prompts, in one query (a prompt with none: an empty list)."""
        wanted = list(dict.fromkeys(prompt_ids))
        return grouped_by(wanted, ((row["prompt_id"], row_to_decision(row))
                                   for row in self.store.reviews.picked_of_prompts(kind, wanted)))

    def pick_in_force(self, candidate_ids: set[str] | list[str], reviews_required: int) -> Decision | None:
        """The reviewers' pick among these candidates of one prompt: the latest pick of a candidate that is
        accepted or edited now (a candidate picked, then rejected, is no pick). None: nobody picked."""
        return pick_among({item_id: self.state(item_id, reviews_required) for item_id in sorted(set(candidate_ids))})

    def has_external(self, external_id: str) -> bool:
        return self.store.reviews.has_external(external_id)

    def latest_imported(self, annotation_key: str) -> Decision | None:
        """The decision last imported for an annotation of another tool (see `Reviews.latest_imported`)."""
        row = self.store.reviews.latest_imported(annotation_key)
        return row_to_decision(row) if row else None

    def free_external_id(self, external_id: str) -> str:
        """The id itself, or with a counter when an annotation went back to an earlier version."""
        candidate, count = external_id, 1
        while self.has_external(candidate):
            count += 1
            candidate = f"{external_id}+{count}"
        return candidate

    def state(self, item_id: str, reviews_required: int) -> ItemState:
        return resolve(item_id, self.decisions([item_id]), reviews_required)


def grouped_by(keys: Iterable[str], pairs: Iterable[tuple[str, Decision]]) -> dict[str, list[Decision]]:
    """Decisions grouped by their key, in the order given; every key of `keys` present (an empty list when
    none has it)."""
    grouped: dict[str, list[Decision]] = {key: [] for key in keys}
    for key, decision in pairs:
        grouped.setdefault(key, []).append(decision)
    return grouped


def content_version(decision: Decision) -> str:
    """What a decision says (not who, when or from where): an annotation changed in its tool gets a new one."""
    said = [decision.decision, decision.version_id, (decision.reason or "").strip(), (decision.edited_text or "").strip(),
            sorted(decision.scores.items())] + (["picked"] if decision.picked else [])
    return hashlib.sha256(json.dumps(said, ensure_ascii=False).encode()).hexdigest()[:12]


def row_to_decision(row: Any) -> Decision:
    return Decision(
        item_id=row["item_id"], kind=row["kind"], version_id=row["version_id"], reviewer=row["reviewer"],
        decision=row["decision"], reason=row["reason"], edited_text=row["edited_text"],
        scores=json.loads(row["scores"]) if row["scores"] else {}, seconds=row["seconds"], source=row["source"],
        external_id=row["external_id"],
        new_version_id=row["new_version_id"], picked=bool(row["picked"]), created_at=row["created_at"], seq=row["seq"],
    )
