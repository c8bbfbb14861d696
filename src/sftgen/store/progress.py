"""The `progress` table (`progress_rows`, read back through the view `progress`): one row per (step, input)
with the settings it was processed under, the outcome, the reason and what it cost; and the queries over
it: a step's pending inputs, the funnel, throughput."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.db import DONE_STEPS, LABEL, PARENT_IDS, RECORD_JOINS, Database, marks, record_text
from sftgen.store.interning import intern, intern_text, name_id, name_ids, texts_seen
from sftgen.store.results import ItemResult


PENDING_COLUMNS = f"""e.seq, i.name, r.kind, r.step, t.text, {PARENT_IDS}, r.meta, r.origin, r.status, r.reason,
    t.hash, t.n"""
"""A pending input's columns from `emit_rows e JOIN record_rows r` and `db.RECORD_JOINS`, its text and meta as
stored: `Progress.pending` decodes them in Python (through SQL functions each went Python -> SQLite -> Python
again, its text encoded and decoded once more: 0.8 us of an input's 4-5)."""

PROGRESS_COLUMNS = f"""s.name AS step, i.name AS item_id, g.name AS settings, p.outcome, p.reason, p.detail, {LABEL} AS label,
    p.n_outputs, p.llm_requests, p.cache_hits, p.prompt_tokens, p.completion_tokens, p.seconds, p.done_at, p.cache_keys"""
PROGRESS_JOINS = ("JOIN names s ON s.n = p.step JOIN names i ON i.n = p.item JOIN names g ON g.n = p.settings "
                  "LEFT JOIN texts l ON l.n = p.label")
"""The columns of the `progress` view from `progress_rows p`, and the joins they need."""


def text_heads(conn: sqlite3.Connection, numbers: Iterable[int], length: int) -> dict[int, str]:
    """record number -> the first `length` characters of its text, for those of these records the store has:
    from the starts the connection holds of the texts a step just read as inputs (`TextNumbers.heads`), the
    others decompressed by SQLite."""
    wanted = sorted(set(numbers))
    if not wanted or length <= 0:
        return {}
    seen = texts_seen(conn)
    if seen is None or not seen.heads:
        return read_heads(conn, wanted, length)
    heads: dict[int, str] = {}
    unheld = []
    for n, text_n in conn.execute("SELECT n, text FROM record_rows WHERE n IN (SELECT value FROM json_each(?))",
                                  (json.dumps(wanted),)):
        head = seen.head(text_n, length)
        if head is None:
            unheld.append(n)
        else:
            heads[n] = head
    if unheld:
        heads.update(read_heads(conn, unheld, length))
    return heads


def read_heads(conn: sqlite3.Connection, numbers: list[int], length: int) -> dict[int, str]:
    return dict(conn.execute(
        f"SELECT r.n, substr({record_text('t.text')}, 1, ?) FROM record_rows r JOIN texts t ON t.n = r.text "
        "WHERE r.n IN (SELECT value FROM json_each(?))", (length, json.dumps(numbers))).fetchall())


def stored_label(label: str, head: str | None) -> int | None:
    """What `progress_rows.label` holds for a label that starts the input's text (`head`: its start, at least
    as long as the label): minus its length, read back with `db.LABEL`. None: the label is kept in `texts`."""
    if head is not None and label and head.startswith(label) and "\0" not in label:
        return -len(label)
    return None


def errors_cutoff(errors_before: float | None) -> float:
    """No cutoff retries no error: every done_at is later than minus infinity."""
    return float("-inf") if errors_before is None else errors_before


class Progress:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn

    def number(self, name: str) -> int:
        """A name's number for a read; one the store never saw matches no row (numbers start at 1)."""
        n = name_id(self.conn, name)
        return 0 if n is None else n

    # ---- writing -------------------------------------------------------------------------------

    def write(self, step: str, settings: str, result: ItemResult, n_outputs: int, now: float,
              memo: dict[str, int] | None = None) -> None:
        step_n, item_n, settings_n = (intern(self.conn, step, memo), intern(self.conn, result.item_id, memo),
                                      intern(self.conn, settings, memo))
        label = result.label
        if label is not None:
            head = text_heads(self.conn, [item_n], len(label)).get(item_n)
            code = stored_label(label, head)
            label = intern_text(self.conn, label) if code is None else code
        self.conn.execute(
            """INSERT OR REPLACE INTO progress_rows (step, item, settings, outcome, reason, detail, label,
                   n_outputs, llm_requests, cache_hits, prompt_tokens, completion_tokens, seconds, done_at,
                   cache_keys)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                step_n, item_n, settings_n, result.outcome, result.reason, result.detail, label, n_outputs,
                result.llm_requests, result.cache_hits,
                result.prompt_tokens, result.completion_tokens, result.seconds, now,
                " ".join(result.cache_keys),
            ),
        )

    def forget(self, step: str, item_ids: Iterable[str]) -> int:
        """Make a step process these inputs again on the next run (e.g. after a reviewer's decision)."""
        ids = list(item_ids)
        if not ids:
            return 0
        step_n = name_id(self.conn, step)
        if step_n is None:
            return 0
        with self.db.transaction():
            numbers = name_ids(self.conn, ids)
            cursor = self.conn.execute(f"DELETE FROM progress_rows WHERE step=? AND item IN ({marks(numbers)})",
                                       (step_n, *numbers))
        return cursor.rowcount

    # ---- a step's inputs -----------------------------------------------------------------------

    def pending(
        self, step: str, upstream: Sequence[str], settings: str, after_seq: int = 0, limit: int = 256,
        errors_before: float | None = None,
    ) -> list[tuple[int, Record]]:
        """Active emits of the upstream steps that this step has not processed under these settings,
        and those whose processing failed before `errors_before` (a run retries earlier runs' errors,
        not its own)."""
        if not upstream:
            return []
        # Each item at its first active upstream emit (NOT EXISTS, not GROUP BY: grouping made every page
        # scan and sort all of the upstream's emits, quadratic over a run; bench/memory_bench.py).
        numbers = name_ids(self.conn, upstream)
        rows: list[tuple] = []
        for number in numbers:
            before = rows[limit - 1][0] if len(rows) >= limit else None
            rows = sorted(rows + self.pending_rows(step, number, numbers, settings, after_seq, before, limit,
                                                   errors_before))[:limit]
        page = self.pending_records(rows)
        if (seen := texts_seen(self.conn)) is not None:  # the step's requests quote them (store/request_texts.py)
            seen.saw(self.conn, ((row[10], row[11]) for row in rows))
            # their labels' test
            seen.saw_texts(self.conn, ((row[11], record.text) for row, (_, record) in zip(rows, page)))
        return page

    def pending_rows(self, step: str, emitter: int, upstream: list[int], settings: str, after_seq: int,
                     before_seq: int | None, limit: int, errors_before: float | None) -> list[tuple]:
        """Rows of PENDING_COLUMNS of the inputs one upstream step (`emitter`) emitted between the two seqs, in
        seq order. One step at a time: `e.step IN (two steps)` cannot walk the (step, active, seq) index in seq
        order, so SQLite sorted every remaining emit of both for each page (rephrase's inputs from generate and
        broaden: 88 us per input at 20,000 prompts, against 14-25 for a step with one upstream)."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        below = "" if before_seq is None else "AND e.seq < ?"
        return cursor.execute(
            f"""SELECT {PENDING_COLUMNS} FROM emit_rows e
                JOIN record_rows r ON r.n = e.item {RECORD_JOINS}
                LEFT JOIN progress_rows p ON p.step = ? AND p.item = e.item
                WHERE e.step = ? AND e.active = 1 AND e.seq > ? {below}
                  AND (p.item IS NULL OR p.settings IS NOT ? OR (p.outcome = 'error' AND p.done_at < ?))
                  AND NOT EXISTS (SELECT 1 FROM emit_rows f WHERE f.item = e.item AND f.active = 1
                                  AND f.seq < e.seq AND f.step IN ({marks(upstream)}))
                ORDER BY e.seq LIMIT ?""",
            (self.number(step), emitter, after_seq, *(() if before_seq is None else (before_seq,)),
             self.number(settings), errors_cutoff(errors_before), *upstream, limit),
        ).fetchall()

    def pending_records(self, rows: list[tuple]) -> list[tuple[int, Record]]:
        """(seq, record) of rows of PENDING_COLUMNS."""
        text_of, meta_text, loads = self.db.texts.text, self.db.metas.text, json.loads
        return [(seq, Record(id=item_id, kind=kind, step=step, text=text_of(text), parent_ids=loads(parent_ids),
                             meta=loads(meta_text(meta)), origin=origin, status=Status(status), reason=reason))
                for seq, item_id, kind, step, text, parent_ids, meta, origin, status, reason, _, _ in rows]

    def count_pending(
        self, step: str, upstream: Sequence[str], settings: str, errors_before: float | None = None
    ) -> int:
        if not upstream:
            return 0
        numbers = name_ids(self.conn, upstream)
        return self.conn.execute(
            f"""SELECT COUNT(DISTINCT e.item) FROM emit_rows e
                LEFT JOIN progress_rows p ON p.step = ? AND p.item = e.item
                WHERE e.step IN ({marks(numbers)}) AND e.active = 1
                  AND (p.item IS NULL OR p.settings IS NOT ? OR (p.outcome = 'error' AND p.done_at < ?))""",
            (self.number(step), *numbers, self.number(settings), errors_cutoff(errors_before)),
        ).fetchone()[0]

    def done_settings(self, step: str, item_ids: list[str], errors_before: float | None = None) -> dict[str, str]:
        """item id -> the settings each of these inputs was processed under (errors before `errors_before`
        left out, so they are retried)."""
        done: dict[str, str] = {}
        cutoff = errors_cutoff(errors_before)
        for start in range(0, len(item_ids), 500):
            part = item_ids[start : start + 500]
            rows = self.conn.execute(
                f"""SELECT i.name, g.name, p.outcome, p.done_at FROM names i  -- CROSS JOIN: these names first
                    CROSS JOIN progress_rows p ON p.step = ? AND p.item = i.n JOIN names g ON g.n = p.settings
                    WHERE i.name IN ({marks(part)})""",
                (self.number(step), *part),
            )
            done.update((r[0], r[1]) for r in rows if not (r[2] == Status.ERROR and r[3] < cutoff))
        return done

    # ---- what was done -------------------------------------------------------------------------

    def rows(self, step: str | None = None) -> list[sqlite3.Row]:
        if step is None:
            return self.conn.execute(f"SELECT {PROGRESS_COLUMNS} FROM progress_rows p {PROGRESS_JOINS} "
                                     "ORDER BY p.done_at, p.item, p.step").fetchall()
        return self.conn.execute(f"SELECT {PROGRESS_COLUMNS} FROM progress_rows p {PROGRESS_JOINS} "
                                 "WHERE p.step=? ORDER BY i.name", (self.number(step),)).fetchall()

    def items_done_as(self, step: str, outcome: str, reason: str, settings: str) -> list[str]:
        """The inputs this step processed under these settings with this outcome and reason."""
        return [row[0] for row in self.conn.execute(
            "SELECT i.name FROM progress_rows p JOIN names i ON i.n = p.item "
            "WHERE p.step=? AND p.settings=? AND p.outcome=? AND p.reason=? ORDER BY i.name",
            (self.number(step), self.number(settings), outcome, reason))]

    def outcome_of(self, step: str, item_id: str) -> tuple[str, str | None] | None:
        """(outcome, reason) of `step` on this input, or None when it has not processed it."""
        row = self.conn.execute(
            "SELECT outcome, reason FROM progress_rows WHERE step = ? AND item = ?",
            (self.number(step), self.number(item_id)),
        ).fetchone()
        return (row["outcome"], row["reason"]) if row else None

    def outcomes_of(self, step: str, item_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """`outcome_of` for several inputs in one query: item id -> (outcome, reason), for those it processed."""
        if not item_ids:
            return {}
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return {item: (outcome, reason) for item, outcome, reason in cursor.execute(
            "SELECT i.name, p.outcome, p.reason FROM progress_rows p JOIN names i ON i.n = p.item "
            "WHERE p.step = ? AND p.item IN (SELECT n FROM names WHERE name IN (SELECT value FROM json_each(?)))",
            (self.number(step), json.dumps(list(item_ids), ensure_ascii=False)))}

    def has_run(self, step: str) -> bool:
        return self.conn.execute("SELECT 1 FROM progress_rows WHERE step=? LIMIT 1",
                                 (self.number(step),)).fetchone() is not None

    def history(self, item_id: str) -> list[dict[str, Any]]:
        """What each step did with this item, oldest first."""
        rows = self.conn.execute(
            f"WITH RECURSIVE {DONE_STEPS} "
            "SELECT s.name AS step, p.outcome, p.reason, p.done_at FROM progress_rows p JOIN names s ON s.n = p.step "
            "WHERE p.step IN (SELECT step FROM done_steps) AND p.item=? ORDER BY p.done_at", (self.number(item_id),)
        ).fetchall()
        return [dict(row) for row in rows]

    def done_since(self, step: str, since: float) -> list[sqlite3.Row]:
        """Outcome and reason, outputs, requests, cache hits, tokens and seconds of the step's items done since then
        (the dry run's preview)."""
        return self.conn.execute(
            "SELECT i.name AS item_id, p.outcome, p.reason, p.n_outputs, p.llm_requests, p.cache_hits, p.prompt_tokens, "
            "p.completion_tokens, p.seconds FROM progress_rows p JOIN names i ON i.n = p.item "
            "WHERE p.step=? AND p.done_at >= ? ORDER BY i.name", (self.number(step), since)).fetchall()

    # ---- the funnel ----------------------------------------------------------------------------

    def tallies(self) -> list[sqlite3.Row]:
        """Per (step, outcome, reason): items, requests, cache hits, tokens and seconds."""
        return self.conn.execute(
            """SELECT s.name AS step, t.outcome, t.reason, t.n, t.requests, t.hits, t.prompt_tokens,
                      t.completion_tokens, t.seconds
               FROM (SELECT step, outcome, reason, COUNT(*) AS n, SUM(llm_requests) AS requests,
                            SUM(cache_hits) AS hits, SUM(prompt_tokens) AS prompt_tokens,
                            SUM(completion_tokens) AS completion_tokens, SUM(seconds) AS seconds
                     FROM progress_rows GROUP BY step, outcome, reason) t
               JOIN names s ON s.n = t.step ORDER BY s.name, t.outcome, t.reason"""
        ).fetchall()

    def tallies_by_commit(self) -> list[tuple]:
        """`tallies` per commit too, in one pass over the rows: (step, done_at, outcome, reason, items,
        requests, cache hits, prompt tokens, completion tokens, seconds), by step then time (`sftgen status`
        sums them into its funnel, and takes the commits' times and sizes for `commit_times`' rates)."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return cursor.execute(
            """SELECT s.name, t.done_at, t.outcome, t.reason, t.n, t.requests, t.hits, t.prompt_tokens,
                      t.completion_tokens, t.seconds
               FROM (SELECT step, done_at, outcome, reason, COUNT(*) AS n, SUM(llm_requests) AS requests,
                            SUM(cache_hits) AS hits, SUM(prompt_tokens) AS prompt_tokens,
                            SUM(completion_tokens) AS completion_tokens, SUM(seconds) AS seconds
                     FROM progress_rows GROUP BY step, done_at, outcome, reason) t
               JOIN names s ON s.n = t.step ORDER BY s.name, t.done_at"""
        ).fetchall()

    def recent_errors(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            f"SELECT s.name AS step, {LABEL} AS label, p.reason, p.detail FROM progress_rows p JOIN names s ON s.n = p.step "
            "LEFT JOIN texts l ON l.n = p.label "
            "WHERE p.outcome=? ORDER BY p.done_at DESC LIMIT ?",
            (Status.ERROR, limit),
        ).fetchall()
        return [dict(row) for row in rows]

    def commit_times(self) -> dict[str, list[tuple[float, int]]]:
        """Per step, its commits: (done_at, items committed then), oldest first, in one pass."""
        batches: dict[str, list[tuple[float, int]]] = {}
        for step, done_at, n in self.conn.execute(
                "SELECT s.name, p.done_at, COUNT(*) FROM progress_rows p JOIN names s ON s.n = p.step "
                "GROUP BY p.step, p.done_at ORDER BY p.step, p.done_at"):
            batches.setdefault(step, []).append((done_at, n))
        return batches
