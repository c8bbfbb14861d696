"""The review queue: the items each gate's upstream passes on that the recipe's policy sends to humans,
with their review state, filters (kind, subdomain, status) and progress per reviewer.

A prompt's candidate answers (two or more with `meta.candidate_index`) are one item: its id is the first
candidate's, `candidates` holds each one with its own state, and its state is theirs together
(decisions/log.py `group_state`): settled by a reviewer's pick, or rejected when all are."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sftgen.answers.choice import candidates_of
from sftgen.core.graph import Pipeline
from sftgen.recipe import Recipe
from sftgen.records import Record, Status
from sftgen.decisions.log import (
    ACCEPTED, DISPUTED, EDITED, PENDING, REJECTED, ItemState, ReviewLog, group_state, resolve,
)
from sftgen.decisions.policy import in_queue
from sftgen.steps.review_gate import REJECTED_BY_REVIEWER
from sftgen.store import Store

TODO = "todo"
"""Not settled yet and not decided by the current reviewer: what a reviewer works through."""
STATUSES = (TODO, PENDING, DISPUTED, ACCEPTED, EDITED, REJECTED, "all")
COUNTED = (ACCEPTED, REJECTED, EDITED, PENDING, DISPUTED)
GROUPING_KEYS = ("prompt_id", "candidate_index")
JUDGED_KEYS = ("needs_review", "scores")
"""The meta that places an item in the queue: its prompt and candidate group, and what the `uncertain`
policy weighs (decisions/policy.py `in_queue`). All that `counts` reads of each item."""


@dataclass
class QueueItem:
    record: Record
    """The item as the pipeline made it (the original version)."""
    state: ItemState
    subdomain: str | None
    candidates: list[QueueItem] = field(default_factory=list)
    """For a prompt's candidate answers reviewed together: each candidate (the first is `record`)."""

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def kind(self) -> str:
        return self.record.kind

    def open(self) -> bool:
        return self.state.status in (PENDING, DISPUTED)

    def decided_by(self, reviewer: str) -> bool:
        return any(decision.reviewer == reviewer for decision in self.state.decisions)


class ReviewQueue:
    def __init__(self, store: Store, pipeline: Pipeline, recipe: Recipe, lean: bool = False):
        """`lean` (the review app): the queue's items hold records without their texts and with only the meta
        values that place them in the queue (as `counts` reads them); their subdomains are read when a
        subdomain filter first needs them; `find` gives the whole records of the item shown."""
        self.store = store
        self.lean = lean
        self.recipe = recipe
        self.review = recipe.review
        self.log = ReviewLog(store, pipeline)
        self.gates = {kind: gate for kind in ("prompt", "answer") if (gate := pipeline.gate_for(kind)) is not None}
        self._cache: dict[str, tuple[int, list[QueueItem]]] = {}
        """kind -> (the store's data_version when built, items): rebuilt when another connection (a run, an
        import) commits; our own decisions update it in place (`decided`)."""
        self._positions: dict[str, tuple[list[QueueItem], dict[str, int]]] = {}
        """kind -> (the cached items, item id -> its place in them)."""
        self._tallies: dict[str, tuple[list[QueueItem], Tally]] = {}
        """kind -> (the cached items, their progress), kept up to date by `decided`."""
        self._subdomains_filled: dict[str, list[QueueItem]] = {}
        """kind -> the cached items whose subdomains a lean queue has read (`fill_subdomains`)."""

    @property
    def kinds(self) -> list[str]:
        return [kind for kind in ("prompt", "answer") if kind in self.gates and kind in self.review.kinds]

    def items(self, kind: str) -> list[QueueItem]:
        version = self.store.db.data_version()
        cached = self._cache.get(kind)
        if cached and cached[0] == version:
            return cached[1]
        items = self._build(kind)
        self._cache[kind] = (version, items)
        return items

    def position(self, kind: str) -> dict[str, int]:
        """Item id -> its place in `items(kind)`."""
        items = self.items(kind)
        known = self._positions.get(kind)
        if known is None or known[0] is not items:
            known = self._positions[kind] = (items, {item.id: index for index, item in enumerate(items)})
        return known[1]

    def decided(self, item_id: str, kind: str) -> None:
        """After this process recorded a decision: refresh that item's state and the queue's progress (and
        drop the answers, whose queue depends on their prompts' decisions)."""
        cached = self._cache.get(kind)
        if cached:
            known = self._positions.get(kind)
            if known is None or known[0] is not cached[1]:
                known = self._positions[kind] = (cached[1], {item.id: index for index, item in enumerate(cached[1])})
            index = known[1].get(item_id)
            item = cached[1][index] if index is not None else None
            if item is not None and item.candidates:
                self._cache.pop(kind, None)
            elif item is not None:
                before = item.state
                item.state = self.log.state(item_id, self.review.reviews_required)
                tally = self._tallies.get(kind)
                if tally is not None and tally[0] is cached[1]:
                    tally[1].change(index, before, item.state)
        if kind == "prompt":
            self._cache.pop("answer", None)

    def _build(self, kind: str, to_count: bool = False) -> list[QueueItem]:
        """`to_count`: items without their texts and subdomains (a look-up per answer), for `counts`."""
        gate = self.gates.get(kind)
        if gate is None or kind not in self.review.kinds:
            return []
        decisions = self.log.by_item(kind)
        prompt_decisions = self.log.by_item("prompt") if kind == "answer" else {}
        items: list[QueueItem] = []
        groups: dict[str, list[QueueItem]] = {}
        required = self.review.reviews_required
        keys = self.placing_keys(kind)
        if to_count or self.lean:  # a lean queue's subdomains are read when a filter first needs them
            emitted = self.store.emits.emitted_without_text(gate.upstream, kind, keys=keys)
        else:
            emitted = self.store.emitted(gate.upstream, kind=kind)
        for record in emitted:
            dropped_by_others = record.status != Status.KEPT and record.reason != REJECTED_BY_REVIEWER
            if dropped_by_others:
                continue
            if kind == "answer" and self.prompt_moved_on(record, prompt_decisions):
                continue
            decided = decisions.get(record.id)
            state = (resolve(record.id, decided, self.review.reviews_required) if decided or required < 1
                     else ItemState(PENDING, record.id, []))  # what resolve makes of no decisions
            item = QueueItem(record, state, None if to_count or self.lean else self.subdomain_of(record))
            if kind == "answer" and record.meta.get("candidate_index") is not None:
                group = groups.setdefault(record.meta.get("prompt_id") or record.id, [])
                if not group:
                    items.append(item)  # holds the group's place in the queue
                group.append(item)
            elif in_queue(record, self.review):
                items.append(item)
        return [self.grouped(item, groups) for item in items if self.queued(item, groups)]

    def placing_keys(self, kind: str) -> tuple[str, ...]:
        """The meta keys that place an item of this kind in the queue: its candidate group (answers), and
        what the `uncertain` policy weighs. Prompts under the `all` or `sample` policy need none."""
        judged = JUDGED_KEYS if self.review.policy not in ("all", "sample") else ()
        return (GROUPING_KEYS if kind == "answer" else ()) + judged

    def fill_subdomains(self, kind: str) -> None:
        """A lean queue's subdomains, read for all its items (and their candidates) at once the first time a
        subdomain filter asks: an answer without one has its prompt's."""
        items = self.items(kind)
        if not self.lean or self._subdomains_filled.get(kind) is items:
            return
        members = [member for item in items for member in (item.candidates or [item])]
        metas = self.store.lookups.metas(member.id for member in members)
        prompt_ids = {meta.get("prompt_id") for meta in metas.values() if not meta.get("subdomain")} - {None}
        prompt_subdomains = self.store.lookups.meta_values(prompt_ids, "subdomain")
        for member in members:
            meta = metas.get(member.id, {})
            member.subdomain = meta.get("subdomain") or prompt_subdomains.get(meta.get("prompt_id")) or None
        for item in items:
            if item.candidates:
                item.subdomain = item.candidates[0].subdomain
        self._subdomains_filled[kind] = items

    def queued(self, item: QueueItem, groups: dict[str, list[QueueItem]]) -> bool:
        if item.record.meta.get("candidate_index") is None or item.kind != "answer":
            return True
        members = groups[item.record.meta.get("prompt_id") or item.id]
        return any(in_queue(member.record, self.review) for member in members)

    def grouped(self, item: QueueItem, groups: dict[str, list[QueueItem]]) -> QueueItem:
        """A lone candidate is an item as before; two or more are one item, the first standing for them."""
        if item.record.meta.get("candidate_index") is None or item.kind != "answer":
            return item
        members = sorted(groups[item.record.meta.get("prompt_id") or item.id],
                         key=lambda member: int(member.record.meta.get("candidate_index") or 0))
        return candidate_group(members) if len(members) > 1 else item

    def candidates_for(self, record: Record) -> list[QueueItem]:
        """The candidates of an answer's prompt still in play (kept, or rejected by a reviewer), with their states."""
        gate = self.gates.get("answer")
        if gate is None or record.meta.get("candidate_index") is None or not record.meta.get("prompt_id"):
            return []
        members = []
        for candidate in candidates_of(self.store, record.meta["prompt_id"]):
            if candidate.status != Status.KEPT and candidate.reason != REJECTED_BY_REVIEWER:
                continue
            state = self.log.state(candidate.id, self.review.reviews_required)
            members.append(QueueItem(candidate, state, self.subdomain_of(candidate)))
        return members

    def prompt_moved_on(self, answer: Record, prompt_decisions: dict) -> bool:
        """The answer's prompt was rejected or edited: the next run withdraws this answer, so it is not
        worth an expert's time."""
        prompt_id = answer.meta.get("prompt_id")
        if prompt_id not in prompt_decisions:
            return False
        state = resolve(prompt_id, prompt_decisions[prompt_id], self.review.reviews_required)
        return state.status == REJECTED or state.version_id != prompt_id

    def waiting_for_run(self, kind: str) -> int:
        """Items with a decision the pipeline has not applied yet: their gate's progress row was forgotten and
        the gate's upstream still passes them on. A decision on an item the pipeline has withdrawn (an answer
        whose prompt a reviewer rejected or edited) waits for nothing: it is kept, and applies if the item
        comes back (the prompt accepted again, the same answer made again)."""
        gate = self.gates.get(kind)
        if gate is None:
            return 0
        return self.store.reviews.waiting_for_run(gate.name, kind, gate.upstream)

    def set_aside(self, kind: str) -> int:
        """Items with a decision that the pipeline no longer passes to their gate (see `waiting_for_run`)."""
        gate = self.gates.get(kind)
        if gate is None:
            return 0
        return self.store.reviews.set_aside(kind, gate.upstream)

    def subdomain_of(self, record: Record) -> str | None:
        if record.meta.get("subdomain"):
            return record.meta["subdomain"]
        prompt = self.store.get(record.meta["prompt_id"]) if record.meta.get("prompt_id") else None
        return prompt.meta.get("subdomain") if prompt else None

    def select(self, kind: str, reviewer: str, status: str = TODO, subdomain: str | None = None) -> list[QueueItem]:
        if subdomain:
            self.fill_subdomains(kind)
        return [item for item in self.items(kind) if selected(item, reviewer, status, subdomain)]

    def pick_next(self, kind: str, reviewer: str, status: str, subdomain: str | None, after: str | None,
                  back: bool = False) -> str | None:
        """The selected item after (or, going back, before) `after` in queue order, looking only as far as
        the next one selected; `after` may have left the selection (just decided). Forward past the end
        wraps to the first item still selected (as app.py's `pick` over the whole selection)."""
        if subdomain:
            self.fill_subdomains(kind)
        items = self.items(kind)
        here = self.position(kind).get(after) if after is not None else None
        if here is None:
            return next((item.id for item in items if selected(item, reviewer, status, subdomain)), None)
        if back:
            return next((items[index].id for index in range(here - 1, -1, -1)
                         if selected(items[index], reviewer, status, subdomain)), None)
        later = next((items[index].id for index in range(here + 1, len(items))
                      if selected(items[index], reviewer, status, subdomain)), None)
        if later is not None:
            return later
        return next((item.id for item in items if item.id != after and selected(item, reviewer, status, subdomain)),
                    None)

    def find(self, item_id: str) -> QueueItem | None:
        record = self.store.get(item_id)
        if record is None or record.kind not in self.gates:
            return None
        if record.kind == "answer" and record.meta.get("candidate_index") is not None:
            for item in self.items("answer"):  # cached: no scan of every answer per page
                if item.candidates and any(member.id == item_id for member in item.candidates):
                    return self.with_records(item) if self.lean else item
            members = self.candidates_for(record)
            if len(members) > 1 and any(member.id == record.id for member in members):
                return candidate_group(members)
        state = self.log.state(item_id, self.review.reviews_required)
        return QueueItem(record, state, self.subdomain_of(record))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: accepted / rejected / edited / pending / disputed, the queue and the decisions made."""
        counts = {}
        version = self.store.db.data_version()
        for kind in self.kinds:
            cached = self._cache.get(kind)
            if self.lean:
                items = self.items(kind)
            else:
                items = cached[1] if cached and cached[0] == version else self._build(kind, to_count=True)
            tally = Counter(item.state.status for item in items)
            counts[kind] = {status: tally.get(status, 0) for status in COUNTED}
            counts[kind]["queue"] = len(items)
            counts[kind]["decisions"] = sum(len(item.state.decisions) for item in items)
            counts[kind]["waiting_for_run"] = self.waiting_for_run(kind)
            counts[kind]["set_aside"] = self.set_aside(kind)
        return counts

    def progress(self, kind: str) -> dict:
        items = self.items(kind)
        known = self._tallies.get(kind)
        if known is None or known[0] is not items:
            known = self._tallies[kind] = (items, Tally.of(items))
        return known[1].as_dict()

    def with_records(self, item: QueueItem) -> QueueItem:
        """A lean candidates item with its members' whole records (texts and meta, as they are now)."""
        records = self.store.lookups.records([member.id for member in item.candidates])
        members = [QueueItem(record, member.state, self.subdomain_of(record))
                   for member in item.candidates for record in [records.get(member.id, member.record)]]
        return candidate_group(members)

    def subdomains(self) -> list[str]:
        return [subdomain.name for subdomain in self.recipe.domain.subdomains]


def selected(item: QueueItem, reviewer: str, status: str, subdomain: str | None) -> bool:
    if subdomain and item.subdomain != subdomain:
        return False
    if status == TODO:
        return item.open() and not item.decided_by(reviewer)
    return status == "all" or item.state.status == status


class Tally:
    """A queue's progress: its length, the items settled, and the items each reviewer decided (with the
    place of the first, so reviewers with as many come in the order a pass over the queue meets them)."""

    def __init__(self, queue: int):
        self.queue = queue
        self.settled = 0
        self.reviewers: dict[str, list] = {}
        """reviewer -> [items decided, (place, name) of the first]"""

    @classmethod
    def of(cls, items: list[QueueItem]) -> Tally:
        tally = cls(len(items))
        for index, item in enumerate(items):
            tally.add(index, item.state, 1)
        return tally

    def add(self, index: int, state: ItemState, sign: int) -> None:
        if state.status not in (PENDING, DISPUTED):
            self.settled += sign
        for reviewer in state.reviewers:
            entry = self.reviewers.setdefault(reviewer, [0, (index, reviewer)])
            entry[0] += sign
            entry[1] = min(entry[1], (index, reviewer))
            if entry[0] <= 0:
                del self.reviewers[reviewer]

    def change(self, index: int, before: ItemState, after: ItemState) -> None:
        self.add(index, before, -1)
        self.add(index, after, 1)

    def as_dict(self) -> dict:
        order = sorted(self.reviewers.items(), key=lambda entry: (-entry[1][0], entry[1][1]))
        return {"queue": self.queue, "settled": self.settled,
                "per_reviewer": {reviewer: entry[0] for reviewer, entry in order}}


def candidate_group(members: list[QueueItem]) -> QueueItem:
    lead = members[0]
    state = group_state(lead.id, {member.id: member.state for member in members})
    return QueueItem(lead.record, state, lead.subdomain, candidates=members)


def review_counts(store: Store, pipeline: Pipeline, recipe: Recipe) -> dict[str, dict[str, int]]:
    """For `sftgen status`: per reviewed kind, accepted / rejected / edited / pending / disputed."""
    return ReviewQueue(store, pipeline, recipe).counts()


def decisions_waiting_for_run(store: Store, pipeline: Pipeline, recipe: Recipe) -> int:
    """Reviewed items whose decision the pipeline has not applied yet (exports see them after `sftgen run`)."""
    queue = ReviewQueue(store, pipeline, recipe)
    return sum(queue.waiting_for_run(kind) for kind in queue.gates)
