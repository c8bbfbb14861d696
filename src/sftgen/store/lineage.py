"""The `emits` table: which step passes on which record, made from which input, and the withdrawal of
what a step no longer passes on, along the step graph.

A store that writes a step's results is given the graph (step -> the steps it consumes from). Withdrawing
an item then reaches only the steps downstream of the one that withdrew it: a pass-through filter upstream
that emits the same item id is left alone. A store opened without the graph (to read: status, export,
report) refuses to withdraw rather than guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.db import PARENT_IDS, RECORD_COLUMNS, RECORD_JOINS, Database, marks, row_to_record
from sftgen.store.interning import intern, name_id, name_ids


class NoStepGraph(Exception):
    """A write would withdraw records, but this store was opened without the step graph."""


class Emits:
    def __init__(self, db: Database, graph: Mapping[str, Sequence[str]] | None):
        self.conn = db.conn
        self.graph = {step: list(upstream) for step, upstream in graph.items()} if graph is not None else None
        self.consumers: dict[str, list[str]] = {}
        for name, upstream in (self.graph or {}).items():
            for producer in upstream:
                self.consumers.setdefault(producer, []).append(name)

    # ---- writing -------------------------------------------------------------------------------

    def replace(self, step: str, source_id: str, emitted_ids: list[str], memo: dict[str, int] | None = None) -> None:
        """Emit `emitted_ids` for this input; what an earlier pass emitted and this one did not is withdrawn.
        `memo`: numbers already found in this transaction (interning.intern)."""
        step_n, source_n = intern(self.conn, step, memo), intern(self.conn, source_id, memo)
        previous = {
            row[0]
            for row in self.conn.execute(
                "SELECT item FROM emit_rows INDEXED BY emit_rows_step_source WHERE step=? AND source=? AND active=1",
                (step_n, source_n),
            )
        }
        emitted = [intern(self.conn, item_id, memo) for item_id in emitted_ids]
        for item_n in emitted:
            self.conn.execute(
                """INSERT INTO emit_rows (step, item, source, active) VALUES (?,?,?,1)
                   ON CONFLICT(step, source, item) DO UPDATE SET active=1 WHERE active != 1""",
                (step_n, item_n, source_n),
            )
        stale = previous - set(emitted)
        if stale:
            self.withdraw(step, source_id, stale)

    def withdraw(self, step: str, source_id: str, items: set[int]) -> None:
        """Withdraw items (by number) a step no longer emits, and everything downstream that was made from them."""
        if self.graph is None:
            raise NoStepGraph(f"step {step} no longer passes on {len(items)} record(s) made from {source_id}, "
                              "and this store was opened without the step graph to withdraw them along")
        step_n, source_n = intern(self.conn, step), intern(self.conn, source_id)
        for item_n in items:
            self.conn.execute(
                "UPDATE emit_rows INDEXED BY emit_rows_step_source SET active=0 WHERE step=? AND source=? AND item=?",
                (step_n, source_n, item_n),
            )
        self.withdraw_downstream({(step, item_n) for item_n in items})

    def withdraw_downstream(self, frontier: set[tuple[str, int]]) -> None:
        """Walk the step graph from (step, item) pairs just withdrawn: each consumer of that step forgets the
        item (its progress row) unless another of its upstream steps still emits it, and withdraws what it
        made from it."""
        graph = self.graph or {}
        seen: set[tuple[str, int]] = set()
        while frontier:
            producer, item_n = frontier.pop()
            if (producer, item_n) in seen:
                continue
            seen.add((producer, item_n))
            for consumer in self.consumers.get(producer, []):
                upstream = name_ids(self.conn, graph.get(consumer, []))
                still_emitted = self.conn.execute(
                    f"SELECT 1 FROM emit_rows WHERE step IN ({marks(upstream)}) AND item=? AND active=1 LIMIT 1",
                    (*upstream, item_n),
                ).fetchone()
                if still_emitted:
                    continue
                consumer_n = name_id(self.conn, consumer)
                if consumer_n is None:  # the consumer never ran: nothing of it to forget
                    continue
                self.conn.execute("DELETE FROM progress_rows WHERE step=? AND item=?", (consumer_n, item_n))
                made = self.conn.execute(
                    "SELECT item FROM emit_rows INDEXED BY emit_rows_step_source WHERE step=? AND source=? AND active=1",
                    (consumer_n, item_n),
                ).fetchall()
                self.conn.execute(
                    "UPDATE emit_rows INDEXED BY emit_rows_step_source SET active=0 WHERE step=? AND source=? AND active=1",
                    (consumer_n, item_n))
                frontier.update((consumer, row[0]) for row in made)

    # ---- reading -------------------------------------------------------------------------------

    def emitted(self, steps: Sequence[str], kind: str | None = None) -> Iterator[Record]:
        """Records any of these steps passes on now, each once, in the order they were first emitted."""
        numbers = name_ids(self.conn, steps)
        query = f"""SELECT MIN(e.seq) AS seq, {RECORD_COLUMNS} FROM emit_rows e JOIN record_rows r ON r.n = e.item
                    {RECORD_JOINS} WHERE e.step IN ({marks(numbers)}) AND e.active = 1"""
        params: list[Any] = list(numbers)
        if kind:
            query += " AND r.kind = ?"
            params.append(kind)
        query += " GROUP BY e.item ORDER BY seq"
        for row in self.conn.execute(query, params):
            yield row_to_record(row)

    def emitted_without_text(self, steps: Sequence[str], kind: str,
                             keys: Sequence[str] | None = None) -> Iterator[Record]:
        """As `emitted`, the records with an empty text: for counting them by meta and status. With `keys`, a
        record's meta holds only those keys (the ones it has), picked out by SQLite without decoding the rest,
        and its parent ids are left empty; with no keys, no meta is read at all."""
        numbers = name_ids(self.conn, steps)
        if keys is None:
            query = f"""SELECT MIN(e.seq) AS seq, i.name AS id, r.kind, r.step, '' AS text, {PARENT_IDS} AS parent_ids,
                               meta_text(r.meta) AS meta, r.origin, r.status, r.reason
                        FROM emit_rows e JOIN record_rows r ON r.n = e.item JOIN names i ON i.n = r.n
                        WHERE e.step IN ({marks(numbers)}) AND e.active = 1 AND r.kind = ?
                        GROUP BY e.item ORDER BY seq"""
            for row in self.conn.execute(query, (*numbers, kind)):
                yield row_to_record(row)
            return
        if not all(key.isidentifier() for key in keys):
            raise ValueError(f"meta keys to read must be plain names: {list(keys)}")
        paths = list(keys) if len(keys) > 1 else list(keys) * 2  # several paths return one JSON array
        meta = ("json_extract(meta_sql(r.meta), " + ", ".join(f"'$.{key}'" for key in paths) + ")") if keys else "NULL"
        # Each item's first emit found on the narrow emit rows alone, then its record: twice as fast at 20,000
        # items as grouping the joined rows.
        query = f"""SELECT i.name, r.step, r.origin, r.status, r.reason, {meta}
                    FROM (SELECT MIN(seq) AS seq, item FROM emit_rows WHERE step IN ({marks(numbers)}) AND active = 1
                          GROUP BY item) e
                    JOIN record_rows r ON r.n = e.item JOIN names i ON i.n = r.n
                    WHERE r.kind = ? ORDER BY e.seq"""
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples: no Row per item
        statuses = {status.value: status for status in Status}
        for item_id, step, origin, status, reason, values in cursor.execute(query, (*numbers, kind)):
            found = {key: value for key, value in zip(keys, json.loads(values)) if value is not None} if keys else {}
            yield Record(id=item_id, kind=kind, step=step, text="", origin=origin, meta=found,
                         status=statuses.get(status) or Status(status), reason=reason)

    def tally_emitted(self, steps: Sequence[str], kind: str, status: Status, by: str,
                      truthy: str | None = None, not_in: Mapping[str, Iterable[str]] | None = None) -> dict[str, int]:
        """How many records of this kind and status these steps pass on now, counted by `meta[by]` (records
        without a value under "(none)"), in SQLite: only those whose `meta[truthy]` is set (when given), and
        none whose `meta[key]` is among the values `not_in[key]`."""
        keys = [by, *([truthy] if truthy else []), *(not_in or {})]
        if not all(key.isidentifier() for key in keys):
            raise ValueError(f"meta keys to count by must be plain names: {keys}")
        numbers = name_ids(self.conn, steps)
        not_in = {key: sorted(set(values)) for key, values in (not_in or {}).items()}
        not_in = {key: values for key, values in not_in.items() if values}  # NOT IN nothing holds for every record
        conditions: list[str] = []
        params: list[Any] = [kind, status, *numbers]
        if truthy:
            conditions.append(f"COALESCE(json_extract(meta, '$.{truthy}'), '') NOT IN ('', 0)")
        for key, values in not_in.items():
            conditions.append(f"IFNULL(json_extract(meta, '$.{key}'), '') NOT IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(values))
        # Each record's meta decoded once (a MATERIALIZED view of it), however many of its keys are read.
        query = f"""WITH m AS {"MATERIALIZED" if conditions else ""} (
                        SELECT meta_sql(r.meta) AS meta FROM record_rows r
                        WHERE r.kind = ? AND r.status = ? AND r.n IN (
                            SELECT item FROM emit_rows WHERE step IN ({marks(numbers)}) AND active = 1))
                    SELECT COALESCE(NULLIF(json_extract(meta, '$.{by}'), ''), '(none)') AS value, COUNT(*) AS n
                    FROM m {"WHERE " + " AND ".join(conditions) if conditions else ""} GROUP BY value"""
        return {row["value"]: row["n"] for row in self.conn.execute(query, params)}

    def emitted_from(self, step: str, source_id: str, kind: str | None = None) -> list[Record]:
        """The records `step` passes on now that it made from the input `source_id`, in emit order."""
        step_n, source_n = name_id(self.conn, step), name_id(self.conn, source_id)
        if step_n is None or source_n is None:
            return []
        query = f"""SELECT {RECORD_COLUMNS} FROM emit_rows e INDEXED BY emit_rows_step_source
                   JOIN record_rows r ON r.n = e.item {RECORD_JOINS} WHERE e.step = ? AND e.source = ? AND e.active = 1"""
        params: list[Any] = [step_n, source_n]
        if kind:
            query += " AND r.kind = ?"
            params.append(kind)
        return [row_to_record(row) for row in self.conn.execute(query + " ORDER BY e.seq", params)]

    def emitted_texts_from(self, step: str, source_id: str, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, text, meta) of the records of this kind `step` passes on now that it made from `source_id`, in
        emit order: `emitted_from` without their parent ids (the answer step's passages)."""
        return self.emitted_texts_from_many(step, [source_id], kind)[source_id]

    def emitted_texts_from_many(self, step: str, source_ids: Sequence[str],
                                kind: str) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
        """`emitted_texts_from` for several inputs in one query: source id -> (id, text, meta) of its records
        of this kind in emit order (every source given is a key). A text several of them share (one passage
        retrieved for several prompts) is decompressed once, and they share the one string."""
        found: dict[str, list[tuple[str, str, dict[str, Any]]]] = {source_id: [] for source_id in source_ids}
        step_n = name_id(self.conn, step)
        if step_n is None or not found:
            return found
        query, params = emits_of_sources("o.name, i.name, r.text, meta_text(r.meta)", "JOIN names i ON i.n = r.n",
                                         step_n, found, kind)
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples
        rows = cursor.execute(query, params).fetchall()
        texts = self.texts_by_number({text_n for _, _, text_n, _ in rows})
        for source_id, record_id, text_n, meta in rows:
            found[source_id].append((record_id, texts[text_n], json.loads(meta)))
        return found

    def texts_by_number(self, numbers: set[int]) -> dict[int, str]:
        """The texts of these numbers in `texts`, read in one query."""
        if not numbers:
            return {}
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return dict(cursor.execute("SELECT n, text_of(text) FROM texts WHERE n IN (SELECT value FROM json_each(?))",
                                   (json.dumps(sorted(numbers)),)))

    def emitted_from_many(self, step: str, source_ids: Sequence[str], kind: str | None = None) -> dict[str, list[Record]]:
        """`emitted_from` for several inputs in one query: source id -> its records in emit order (every
        source given is a key)."""
        found: dict[str, list[Record]] = {source_id: [] for source_id in source_ids}
        step_n = name_id(self.conn, step)
        if step_n is None or not found:
            return found
        query, params = emits_of_sources(f"o.name AS source_id, {RECORD_COLUMNS}", RECORD_JOINS, step_n, found, kind)
        for row in self.conn.execute(query, params):
            found[row["source_id"]].append(row_to_record(row))
        return found

    def emitted_versions_many(self, step: str, source_ids: Sequence[str],
                              kind: str | None = None) -> dict[str, list[tuple[str, tuple]]]:
        """What `emitted_from_many` finds, as (record id, version) without reading the records: the version is
        the record's stored row as it is (text number, meta, parents, status...), equal while the record is
        unchanged, so a reader that kept the record decoded knows whether it still holds."""
        found: dict[str, list[tuple[str, tuple]]] = {source_id: [] for source_id in source_ids}
        step_n = name_id(self.conn, step)
        if step_n is None or not found:
            return found
        query, params = emits_of_sources("o.name, i.name, r.text, r.meta, r.parents, r.status, r.reason, r.origin, "
                                         "r.step, r.kind", "JOIN names i ON i.n = r.n", step_n, found, kind)
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples
        for row in cursor.execute(query, params):
            found[row[0]].append((row[1], row[2:]))
        return found

    def count(self, step: str) -> int:
        step_n = name_id(self.conn, step)
        if step_n is None:
            return 0
        return self.conn.execute(
            "SELECT COUNT(DISTINCT item) FROM emit_rows WHERE step=? AND active=1", (step_n,)
        ).fetchone()[0]

    def first_kept(self, step: str, kind: str, count: int) -> list[Record]:
        """The first `count` kept records of this kind that the step passes on (a LIMIT query: cheap on a
        big store)."""
        step_n = name_id(self.conn, step)
        if step_n is None:
            return []
        rows = self.conn.execute(
            f"""SELECT {RECORD_COLUMNS} FROM emit_rows e JOIN record_rows r ON r.n = e.item {RECORD_JOINS}
               WHERE e.step = ? AND e.active = 1 AND r.kind = ? AND r.status = ?
               ORDER BY e.seq LIMIT ?""",
            (step_n, kind, Status.KEPT, count * 4),
        ).fetchall()
        seen: dict[str, Record] = {}
        for row in rows:
            seen.setdefault(row["id"], row_to_record(row))
        return list(seen.values())[:count]

    def metas(self, steps: Sequence[str], kind: str) -> list[tuple[str, dict[str, Any]]]:
        """(id, meta) of every record of this kind these steps pass on, without loading their texts."""
        numbers = name_ids(self.conn, steps)
        rows = self.conn.execute(
            f"""SELECT i.name, meta_text(r.meta), MIN(e.seq) AS seq FROM emit_rows e JOIN record_rows r ON r.n = e.item
                JOIN names i ON i.n = r.n
                WHERE e.step IN ({marks(numbers)}) AND e.active = 1 AND r.kind = ?
                GROUP BY r.n ORDER BY seq""", (*numbers, kind)).fetchall()
        return [(row[0], json.loads(row[1]) if row[1] else {}) for row in rows]

    def last_seq(self, leaving_out: Sequence[str] = ()) -> int:
        """The newest emit of any step but these: it moves only when one of the others did work."""
        numbers = name_ids(self.conn, leaving_out)
        row = self.conn.execute(
            f"SELECT seq FROM emit_rows WHERE step NOT IN ({marks(numbers)}) ORDER BY seq DESC LIMIT 1",
            tuple(numbers),
        ).fetchone()
        return int(row[0]) if row else 0

    def is_active(self, item_id: str, steps: Sequence[str]) -> bool:
        """Whether any of these steps passes the item on now."""
        item_n = name_id(self.conn, item_id)
        if item_n is None:
            return False
        numbers = name_ids(self.conn, steps)
        return self.conn.execute(
            f"SELECT 1 FROM emit_rows WHERE item=? AND active=1 AND step IN ({marks(numbers)}) LIMIT 1",
            (item_n, *numbers),
        ).fetchone() is not None


def emits_of_sources(columns: str, joins: str, step_n: int, source_ids: Iterable[str],
                     kind: str | None) -> tuple[str, list[Any]]:
    """The query for what `step` passes on now from any of `source_ids`, in emit order: `columns` of the emit
    (`e`), its source's name (`o`) and its record (`r`, with `joins`)."""
    query = f"""SELECT {columns} FROM emit_rows e INDEXED BY emit_rows_step_source
               JOIN names o ON o.n = e.source JOIN record_rows r ON r.n = e.item {joins}
               WHERE e.step = ? AND e.source IN (SELECT n FROM names WHERE name IN (SELECT value FROM json_each(?)))
               AND e.active = 1"""
    params: list[Any] = [step_n, json.dumps(list(source_ids), ensure_ascii=False)]
    if kind:
        query += " AND r.kind = ?"
        params.append(kind)
    return query + " ORDER BY e.seq", params
