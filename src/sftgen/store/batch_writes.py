"""A batch of a step's results written with a few statements per table instead of several per item.

The rows, their order (names' and texts' numbers, emits' seq) and their content are those the item-by-item
writer (`Store.write_one_by_one`) makes: the batch is first read (which names, texts, records and emits the
store has), then planned in the item-by-item order, then written with `executemany`. A batch the plan cannot
reproduce exactly is left to the item-by-item writer (`write` returns False before writing anything):
an input twice in the batch, an input that is an output of another input of it (a review gate passing on
the input itself is fine), or an input whose earlier emits this pass withdraws (the withdrawal walks the
step graph against the emits written so far).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from sftgen.records import Record, Status
from sftgen.store.db import count_change
from sftgen.store.interning import numbers_of, text_hash
from sftgen.store.meta_codec import meta_json
from sftgen.store.progress import stored_label, text_heads
from sftgen.store.records import Records, numbers_json
from sftgen.store.results import ItemResult

CHUNK = 500
"""Values bound per `IN (...)` (SQLite allows some thousands)."""


def known_numbers(conn, names: Iterable[str]) -> dict[str, int]:
    """name -> number, of those the store knows: the connection's remembered ones, the others in one query."""
    remembered = numbers_of(conn)
    found, missing = ({}, list(names)) if remembered is None else remembered.get_many(conn, names)
    if missing:
        rows = [(name, n) for name, n in conn.execute(
            "SELECT name, n FROM names WHERE name IN (SELECT value FROM json_each(?))",
            (json.dumps(missing, ensure_ascii=False),))]
        found.update(rows)
        if remembered is not None:
            remembered.found_many(conn, rows)
    return found


def text_numbers_of(conn, digests: Sequence[bytes]) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    for start in range(0, len(digests), CHUNK):
        part = digests[start : start + CHUNK]
        found.update(conn.execute(f"SELECT hash, n FROM texts WHERE hash IN ({','.join('?' * len(part))})",
                                  part).fetchall())
    return found


def inserted(conn, table: str, insert: str, rows: list[tuple]) -> list[int] | None:
    """Insert these rows into a table keyed by `n INTEGER PRIMARY KEY` and give their numbers, in order,
    without reading them back: SQLite numbers each new row one above the largest, so the rows took the numbers
    after the largest before when the last one is that plus their count (None when not: read them back)."""
    largest = conn.execute(f"SELECT max(n) FROM {table}").fetchone()[0] or 0
    conn.executemany(insert, rows)
    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    return list(range(largest + 1, last + 1)) if last == largest + len(rows) else None


def inputs_made_only_by_themselves(results: list[ItemResult]) -> bool:
    """Whether every input that is also an output of the batch is one only of its own result's outputs: its
    record's rewrite then comes before its verdict, as item by item."""
    position = {result.item_id: index for index, result in enumerate(results)}
    for index, result in enumerate(results):
        for record in result.outputs:
            if position.get(record.id, index) != index:
                return False
    return True


class Plan:
    """What one batch writes, in the item-by-item writer's order."""

    def __init__(self, known: dict[str, int]):
        self.known = known
        self.new_names: dict[str, None] = {}  # in the order the item-by-item writer would number them
        self.texts: dict[bytes, str] = {}  # likewise
        self.text_kinds: dict[bytes, str | None] = {}  # the kind of the first record with the text (None: a label)
        self.inserted: dict[str, tuple[Record, bytes]] = {}  # record id -> (record, its text's hash)
        self.state: dict[str, tuple[str, str, str | None]] = {}  # record id -> (meta, status, reason) now
        self.updated: set[str] = set()  # records already stored whose meta, status or reason changes
        self.kinds: dict[str, str] = {}  # record id -> its kind (the meta's dictionary)

    def name(self, name: str) -> None:
        if name not in self.known and name not in self.new_names:
            self.new_names[name] = None

    def text(self, text: str, kind: str | None = None) -> bytes:
        digest = text_hash(text)
        self.texts.setdefault(digest, text)
        self.text_kinds.setdefault(digest, kind)
        return digest

    def record(self, record: Record, held: dict[str, tuple[str, str, str | None]]) -> None:
        self.name(record.id)
        self.kinds[record.id] = record.kind
        meta = meta_json(record.meta)
        now = (meta, record.status, record.reason)
        before = self.state.get(record.id) or held.get(record.id)
        if before is not None:
            if before != now:
                self.state[record.id] = now
                if record.id not in self.inserted:
                    self.updated.add(record.id)
            return
        self.inserted[record.id] = (record, self.text(record.text, record.kind))
        self.state[record.id] = now
        for parent in record.parent_ids:
            self.name(parent)


def write(records: Records, step: str, settings: str, results: list[ItemResult], now: float) -> bool:
    """Write the batch inside the caller's transaction; False (nothing written) when it must go item by item."""
    conn = records.conn
    if not results:
        return True
    item_ids = [result.item_id for result in results]
    if len(set(item_ids)) != len(item_ids):
        return False
    if not inputs_made_only_by_themselves(results):
        return False

    candidates: dict[str, None] = {step: None, settings: None}
    for result in results:
        candidates[result.item_id] = None
        for record in result.outputs:
            candidates[record.id] = None
            candidates.update(dict.fromkeys(record.parent_ids))
    known = known_numbers(conn, candidates)

    held_emits = emits_held(conn, step, results, known)
    if not withdraws_nothing(held_emits, results, known):
        return False

    output_numbers = {known[record.id] for result in results for record in result.outputs if record.id in known}
    held_rows = conn.execute(
        "SELECT i.name, meta_text(r.meta), r.status, r.reason FROM record_rows r JOIN names i ON i.n = r.n "
        "WHERE r.n IN (SELECT value FROM json_each(?))", (json.dumps(sorted(output_numbers)),)).fetchall()
    held = {row[0]: (row[1], row[2], row[3]) for row in held_rows}

    heads = input_heads(conn, results, known)
    plan = Plan(known)
    labels: list[int | bytes | None] = []  # what progress_rows.label holds, or the hash of a text it is the number of
    for result in results:
        for record in result.outputs:
            record.step = record.step or step
            plan.record(record, held)
        for name in (step, result.item_id, settings):  # the ids it emits are its outputs' and this one
            plan.name(name)
        if result.label is None:
            labels.append(None)
        else:
            code = stored_label(result.label, heads.get(result.item_id))
            labels.append(plan.text(result.label) if code is None else code)

    if plan.new_names:
        numbers = inserted(conn, "names", "INSERT INTO names (name) VALUES (?)", [(name,) for name in plan.new_names])
        if numbers is None:
            known.update(known_numbers(conn, plan.new_names))
        else:
            given = dict(zip(plan.new_names, numbers))
            known.update(given)
            if (remembered := numbers_of(conn)) is not None:
                remembered.found_many(conn, given.items())
    texts = text_numbers_of(conn, list(plan.texts))
    missing = [(digest, records.db.texts.stored(plan.text_kinds[digest], text))
               for digest, text in plan.texts.items() if digest not in texts]
    if missing:
        numbers = inserted(conn, "texts", "INSERT INTO texts (hash, text) VALUES (?, ?)", missing)
        digests = [digest for digest, _ in missing]
        texts.update(text_numbers_of(conn, digests) if numbers is None else zip(digests, numbers))

    write_records(records, plan, known, texts, now)
    emitted = [result.emitted_ids() for result in results]
    write_emits(conn, step, results, emitted, known, held_emits)
    write_verdicts(records, step, results, known)
    step_n, settings_n = known[step], known[settings]
    conn.executemany(
        """INSERT OR REPLACE INTO progress_rows (step, item, settings, outcome, reason, detail, label,
               n_outputs, llm_requests, cache_hits, prompt_tokens, completion_tokens, seconds, done_at,
               cache_keys)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [
            (step_n, known[result.item_id], settings_n, result.outcome, result.reason, result.detail,
             texts[label] if isinstance(label, bytes) else label, len(emitted_ids), result.llm_requests,
             result.cache_hits, result.prompt_tokens, result.completion_tokens, result.seconds, now,
             " ".join(result.cache_keys))
            for result, label, emitted_ids in zip(results, labels, emitted)
        ],
    )
    count_change(conn)
    return True


def input_heads(conn, results: list[ItemResult], known: dict[str, int]) -> dict[str, str]:
    """input id -> the start of its record's text, as long as its label, for the inputs with a label: the
    stored record's, else that of the record the result itself writes under the input's id (the item-by-item
    writer reads it after writing it)."""
    labelled = [result for result in results if result.label]
    if not labelled:
        return {}
    length = max(len(result.label) for result in labelled)
    stored = text_heads(conn, [known[result.item_id] for result in labelled if result.item_id in known], length)
    heads: dict[str, str] = {}
    for result in labelled:
        head = stored.get(known.get(result.item_id, 0))
        if head is None:
            head = next((record.text for record in result.outputs if record.id == result.item_id), None)
        if head is not None:
            heads[result.item_id] = head
    return heads


def emits_held(conn, step: str, results: list[ItemResult], known: dict[str, int]) -> dict[int, dict[int, int]]:
    """source -> {item: active} of the emits the store has of the batch's inputs that write them (an input
    or step the store never named has none)."""
    if step not in known:
        return {}
    sources = sorted({known[result.item_id] for result in results
                      if result.outcome != Status.ERROR and result.item_id in known})
    if not sources:
        return {}
    held: dict[int, dict[int, int]] = {}
    for source, item, active in conn.execute(
            "SELECT source, item, active FROM emit_rows INDEXED BY emit_rows_step_source "
            "WHERE step=? AND source IN (SELECT value FROM json_each(?))", (known[step], json.dumps(sources))):
        held.setdefault(source, {})[item] = active
    return held


def withdraws_nothing(held: dict[int, dict[int, int]], results: list[ItemResult], known: dict[str, int]) -> bool:
    """Whether every input of the batch emits again all that it emitted before (what it emitted before are
    names the store knows)."""
    for result in results:
        emits = held.get(known.get(result.item_id, 0)) if result.outcome != Status.ERROR else None
        if not emits:
            continue
        again = {known[name] for name in result.emitted_ids() if name in known}
        if any(active == 1 and item not in again for item, active in emits.items()):
            return False
    return True


def write_records(records: Records, plan: Plan, known: dict[str, int], texts: dict[bytes, int], now: float) -> None:
    conn, stored = records.conn, records.metas.stored_text
    if plan.updated:
        updates = []
        for record_id in plan.updated:
            meta, status, reason = plan.state[record_id]
            updates.append((stored(plan.kinds[record_id], meta), status, reason, known[record_id]))
        conn.executemany("UPDATE record_rows SET meta=?, status=?, reason=? WHERE n=?", updates)
    rows = []
    for record_id, (record, digest) in plan.inserted.items():
        meta, status, reason = plan.state[record_id]
        meta = stored(record.kind, meta)
        parents = numbers_json([known[parent] for parent in record.parent_ids])
        rows.append((known[record_id], record.kind, record.step, texts[digest], parents, meta, record.origin, status,
                     reason, now))
    if rows:
        conn.executemany(
            """INSERT INTO record_rows (n, kind, step, text, parents, meta, origin, status, reason, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?)""", rows)


def write_emits(conn, step: str, results: list[ItemResult], emitted: list[list[str]], known: dict[str, int],
                held: dict[int, dict[int, int]]) -> None:
    """Each (step, source, item) emitted: inserted when the store has no such row (the new rows take their seq
    in the batch's order), made active again where it is withdrawn; as the item-by-item writer's upsert.
    `held` (emits_held) is brought up to date: an id emitted twice is written once."""
    step_n = known[step]
    new_rows, reactivated = [], []
    for result, emitted_ids in zip(results, emitted):
        if result.outcome == Status.ERROR:
            continue
        source_n = known[result.item_id]
        emits = held.setdefault(source_n, {})
        for name in emitted_ids:
            item_n = known[name]
            active = emits.get(item_n)
            if active is None:
                new_rows.append((step_n, item_n, source_n))
            elif active != 1:
                reactivated.append((step_n, source_n, item_n))
            emits[item_n] = 1
    if new_rows:
        conn.executemany("INSERT INTO emit_rows (step, item, source, active) VALUES (?,?,?,1)", new_rows)
    if reactivated:
        conn.executemany("UPDATE emit_rows INDEXED BY emit_rows_step_source SET active=1 "
                         "WHERE step=? AND source=? AND item=?", reactivated)


def write_verdicts(records: Records, step: str, results: list[ItemResult], known: dict[str, int]) -> None:
    """Each input's verdict (one per input: they are distinct) and meta updates, as `Records.mark` and
    `Records.merge_meta` write them."""
    dropped, kept = [], []
    for result in results:
        if result.outcome == Status.ERROR:
            continue
        verdict = result.verdict_on_input()
        if verdict == Status.DROPPED:
            dropped.append((Status.DROPPED, result.reason, step, known[result.item_id]))
        elif verdict == Status.KEPT:
            kept.append((Status.KEPT, known[result.item_id], step))
    if dropped:
        records.conn.executemany("UPDATE record_rows SET status=?, reason=?, dropped_by=? WHERE n=?", dropped)
    if kept:  # a kept verdict undoes only a drop by this step: the inputs it dropped are found first
        undone = {row[0] for row in records.conn.execute(
            "SELECT n FROM record_rows WHERE n IN (SELECT value FROM json_each(?)) AND dropped_by = ?",
            (json.dumps([n for _, n, _ in kept]), step))}
        kept = [row for row in kept if row[1] in undone]
    if kept:
        records.conn.executemany(
            "UPDATE record_rows SET status=?, reason=NULL, dropped_by=NULL WHERE n=? AND dropped_by=?", kept)
    records.merge_metas([(known[result.item_id], result.meta_updates) for result in results
                         if result.outcome != Status.ERROR and result.meta_updates])
