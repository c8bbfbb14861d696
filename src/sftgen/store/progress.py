"""The `progress` table: one row per (step, input) with the settings it was processed under, the outcome,
the reason and what it cost; and the queries over it: a step's pending inputs, the funnel, throughput."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.db import Database, marks, row_to_record
from sftgen.store.results import ItemResult


def errors_cutoff(errors_before: float | None) -> float:
    """No cutoff retries no error: every done_at is later than minus infinity."""
    return float("-inf") if errors_before is None else errors_before


class Progress:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn

    # ---- writing -------------------------------------------------------------------------------

    def write(self, step: str, settings: str, result: ItemResult, n_outputs: int, now: float) -> None:
        self.conn.execute(
            """INSERT OR REPLACE INTO progress (step, item_id, settings, outcome, reason, detail, label,
                   n_outputs, llm_requests, cache_hits, prompt_tokens, completion_tokens, seconds, done_at,
                   cache_keys)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                step, result.item_id, settings, result.outcome, result.reason, result.detail,
                result.label, n_outputs, result.llm_requests, result.cache_hits,
                result.prompt_tokens, result.completion_tokens, result.seconds, now,
                " ".join(result.cache_keys),
            ),
        )

    def forget(self, step: str, item_ids: Iterable[str]) -> int:
        """Make a step process these inputs again on the next run (e.g. after a reviewer's decision)."""
        ids = list(item_ids)
        if not ids:
            return 0
        with self.db.transaction():
            cursor = self.conn.execute(f"DELETE FROM progress WHERE step=? AND item_id IN ({marks(ids)})", (step, *ids))
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
        rows = self.conn.execute(
            f"""SELECT e.seq AS seq, r.* FROM emits e
                JOIN records r ON r.id = e.item_id
                LEFT JOIN progress p ON p.step = ? AND p.item_id = e.item_id
                WHERE e.step IN ({marks(upstream)}) AND e.active = 1 AND e.seq > ?
                  AND (p.item_id IS NULL OR p.settings != ? OR (p.outcome = 'error' AND p.done_at < ?))
                  AND NOT EXISTS (SELECT 1 FROM emits f WHERE f.item_id = e.item_id AND f.active = 1
                                  AND f.seq < e.seq AND f.step IN ({marks(upstream)}))
                ORDER BY e.seq LIMIT ?""",
            (step, *upstream, after_seq, settings, errors_cutoff(errors_before), *upstream, limit),
        ).fetchall()
        return [(row["seq"], row_to_record(row)) for row in rows]

    def count_pending(
        self, step: str, upstream: Sequence[str], settings: str, errors_before: float | None = None
    ) -> int:
        if not upstream:
            return 0
        return self.conn.execute(
            f"""SELECT COUNT(DISTINCT e.item_id) FROM emits e
                LEFT JOIN progress p ON p.step = ? AND p.item_id = e.item_id
                WHERE e.step IN ({marks(upstream)}) AND e.active = 1
                  AND (p.item_id IS NULL OR p.settings != ? OR (p.outcome = 'error' AND p.done_at < ?))""",
            (step, *upstream, settings, errors_cutoff(errors_before)),
        ).fetchone()[0]

    def done_settings(self, step: str, item_ids: list[str], errors_before: float | None = None) -> dict[str, str]:
        """item id -> the settings each of these inputs was processed under (errors before `errors_before`
        left out, so they are retried)."""
        done: dict[str, str] = {}
        cutoff = errors_cutoff(errors_before)
        for start in range(0, len(item_ids), 500):
            part = item_ids[start : start + 500]
            rows = self.conn.execute(
                f"SELECT item_id, settings, outcome, done_at FROM progress WHERE step=? AND item_id IN ({marks(part)})",
                (step, *part),
            )
            done.update((r[0], r[1]) for r in rows if not (r[2] == Status.ERROR and r[3] < cutoff))
        return done

    # ---- what was done -------------------------------------------------------------------------

    def rows(self, step: str | None = None) -> list[sqlite3.Row]:
        if step is None:
            return self.conn.execute("SELECT * FROM progress").fetchall()
        return self.conn.execute("SELECT * FROM progress WHERE step=?", (step,)).fetchall()

    def items_done_as(self, step: str, outcome: str, reason: str, settings: str) -> list[str]:
        """The inputs this step processed under these settings with this outcome and reason."""
        return [row[0] for row in self.conn.execute(
            "SELECT item_id FROM progress WHERE step=? AND outcome=? AND reason=? AND settings=?",
            (step, outcome, reason, settings))]

    def outcome_of(self, step: str, item_id: str) -> tuple[str, str | None] | None:
        """(outcome, reason) of `step` on this input, or None when it has not processed it."""
        row = self.conn.execute(
            "SELECT outcome, reason FROM progress WHERE step = ? AND item_id = ?", (step, item_id)
        ).fetchone()
        return (row["outcome"], row["reason"]) if row else None

    def has_run(self, step: str) -> bool:
        return self.conn.execute("SELECT 1 FROM progress WHERE step=? LIMIT 1", (step,)).fetchone() is not None

    def history(self, item_id: str) -> list[dict[str, Any]]:
        """What each step did with this item, oldest first."""
        rows = self.conn.execute(
            "SELECT step, outcome, reason, done_at FROM progress WHERE item_id=? ORDER BY done_at", (item_id,)
        ).fetchall()
        return [dict(row) for row in rows]

    def done_since(self, step: str, since: float) -> list[sqlite3.Row]:
        """Outcome and reason, outputs, requests, cache hits, tokens and seconds of the step's items done since then
        (the dry run's preview)."""
        return self.conn.execute(
            "SELECT item_id, outcome, reason, n_outputs, llm_requests, cache_hits, prompt_tokens, completion_tokens, seconds "
            "FROM progress "
            "WHERE step=? AND done_at >= ?", (step, since)).fetchall()

    # ---- the funnel ----------------------------------------------------------------------------

    def tallies(self) -> list[sqlite3.Row]:
        """Per (step, outcome, reason): items, requests, cache hits, tokens and seconds."""
        return self.conn.execute(
            """SELECT step, outcome, reason, COUNT(*) AS n, SUM(llm_requests) AS requests, SUM(cache_hits) AS hits,
                      SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
                      SUM(seconds) AS seconds
               FROM progress GROUP BY step, outcome, reason"""
        ).fetchall()

    def recent_errors(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT step, label, reason, detail FROM progress WHERE outcome=? ORDER BY done_at DESC LIMIT ?",
            (Status.ERROR, limit),
        ).fetchall()
        return [dict(row) for row in rows]

    def commit_times(self) -> dict[str, list[tuple[float, int]]]:
        """Per step, its commits: (done_at, items committed then), oldest first, in one pass."""
        batches: dict[str, list[tuple[float, int]]] = {}
        for step, done_at, n in self.conn.execute(
                "SELECT step, done_at, COUNT(*) FROM progress GROUP BY step, done_at ORDER BY step, done_at"):
            batches.setdefault(step, []).append((done_at, n))
        return batches
