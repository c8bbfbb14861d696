"""The project's one store: SQLite in WAL mode under `<project>/.sftgen/store.db`.

Tables:
- records:  every item with identity, provenance (parent_ids), text, meta, status and drop reason.
- emits:    which step passed on which item, and from which input (`source_id`). A step's inputs are the
            active emits of its upstream steps; a filter emits the inputs it keeps.
- progress: one row per (step, input): the settings hash it was processed under, the outcome
            (kept / dropped / error), the reason, and the LLM requests, cache hits and tokens it cost.
- llm_cache: request hash -> raw request and validated raw reply.
- runs:     one row per `sftgen run`, for the log and the budget.

One transaction per committed batch: a crash loses at most the batch in flight. A write that fails for
want of space raises `DiskFull` (a RunStopped) and rolls back; LLM cache reads refuse from then on.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sftgen.records import Record, Status
from sftgen.store.disk_full import DiskFull, is_disk_full

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    text TEXT NOT NULL,
    parent_ids TEXT NOT NULL,
    meta TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    reason TEXT,
    dropped_by TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS records_kind ON records(kind, status);
CREATE TABLE IF NOT EXISTS emits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    step TEXT NOT NULL,
    item_id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    UNIQUE(step, item_id, source_id)
);
CREATE INDEX IF NOT EXISTS emits_source ON emits(source_id);
CREATE INDEX IF NOT EXISTS emits_step_active ON emits(step, active, seq);
-- What one input of a step emitted; without it SQLite scans the step's emits per write (quadratic).
CREATE INDEX IF NOT EXISTS emits_step_source ON emits(step, source_id, active);
CREATE INDEX IF NOT EXISTS emits_item ON emits(item_id, active, seq);
CREATE TABLE IF NOT EXISTS progress (
    step TEXT NOT NULL,
    item_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    label TEXT,
    n_outputs INTEGER NOT NULL DEFAULT 0,
    llm_requests INTEGER NOT NULL DEFAULT 0,
    cache_hits INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    done_at REAL NOT NULL,
    PRIMARY KEY (step, item_id)
);
CREATE TABLE IF NOT EXISTS llm_cache (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT,
    message TEXT
);
"""




@dataclass
class ItemResult:
    """What one step did with one input: the outcome, the records it passes on, and what it cost."""

    item_id: str
    outcome: Status
    outputs: list[Record] = field(default_factory=list)
    reason: str | None = None
    detail: str | None = None
    label: str | None = None
    llm_requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    passes_input_on: bool = False
    """A filter keeps its input: the input itself is emitted instead of new records."""
    meta_updates: dict[str, Any] = field(default_factory=dict)
    """Merged into the input record's meta in the same transaction (a None value removes the key):
    what a filter records about its decision, e.g. dedup's `duplicate_of` and `similarity`."""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


def row_to_record(row: sqlite3.Row) -> Record:
    return Record(
        id=row["id"],
        kind=row["kind"],
        step=row["step"],
        text=row["text"],
        parent_ids=json.loads(row["parent_ids"]),
        meta=json.loads(row["meta"]),
        origin=row["origin"],
        status=Status(row["status"]),
        reason=row["reason"],
    )


class Store:
    def __init__(self, path: Path):
        self.path = path
        self.disk_full: DiskFull | None = None
        """Set by the first write that failed for want of space: the reply to a request sent after it
        could not be stored, so `cache_get` refuses (no request is sent)."""
        self.on_disk_full: Callable[[DiskFull], None] | None = None
        """Told at once (the runner stops the LLM client with it: requests waiting for a slot are not sent)."""
        try:
            self.conn = connect(path)
            self.conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as error:
            if is_disk_full(error, path.parent):
                raise DiskFull(path, "opening the store") from error
            raise
        self.step_upstream: dict[str, list[str]] | None = None
        """step -> the steps it consumes from (set by the runner). With it, withdrawing an item reaches
        only the steps downstream of the one that withdrew it; a pass-through filter upstream that emits
        the same item id is left alone."""

    def close(self) -> None:
        self.conn.close()

    # ---- writing -------------------------------------------------------------------------------

    def commit_batch(self, step: str, settings: str, results: Iterable[ItemResult]) -> None:
        """Write one batch of a step's results in one transaction."""
        now = time.time()
        with self.transaction(f"results of step {step}"):
            for result in results:
                self._write_result(step, settings, result, now)

    def _write_result(self, step: str, settings: str, result: ItemResult, now: float) -> None:
        emitted_ids = [result.item_id] if result.passes_input_on and result.outcome == Status.KEPT else []
        for record in result.outputs:
            record.step = record.step or step
            self._insert_record(record, now)
            emitted_ids.append(record.id)
        if result.outcome != Status.ERROR:  # a failed redo leaves what an earlier pass made in place until it succeeds
            self._replace_emits(step, result.item_id, emitted_ids)
            if result.passes_input_on:
                self._set_record_status(result.item_id, result, step)
            if result.meta_updates:
                self._merge_meta(result.item_id, result.meta_updates)
        self.conn.execute(
            """INSERT OR REPLACE INTO progress (step, item_id, settings, outcome, reason, detail, label,
                   n_outputs, llm_requests, cache_hits, prompt_tokens, completion_tokens, seconds, done_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (
                step, result.item_id, settings, result.outcome, result.reason, result.detail,
                result.label, len(emitted_ids), result.llm_requests, result.cache_hits,
                result.prompt_tokens, result.completion_tokens, result.seconds, now,
            ),
        )

    def _insert_record(self, record: Record, now: float) -> None:
        self.conn.execute(
            """INSERT INTO records (id, kind, step, text, parent_ids, meta, origin, status, reason, created_at)
               VALUES (?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET meta=excluded.meta, status=excluded.status, reason=excluded.reason""",
            (
                record.id, record.kind, record.step, record.text, json.dumps(record.parent_ids),
                json.dumps(record.meta, ensure_ascii=False, default=str), record.origin,
                record.status, record.reason, now,
            ),
        )

    def _set_record_status(self, item_id: str, result: ItemResult, step: str) -> None:
        if result.outcome == Status.DROPPED:
            self.conn.execute(
                "UPDATE records SET status=?, reason=?, dropped_by=? WHERE id=?",
                (Status.DROPPED, result.reason, step, item_id),
            )
        elif result.outcome == Status.KEPT:
            self.conn.execute(
                "UPDATE records SET status=?, reason=NULL, dropped_by=NULL WHERE id=? AND dropped_by=?",
                (Status.KEPT, item_id, step),
            )

    def _replace_emits(self, step: str, source_id: str, emitted_ids: list[str]) -> None:
        """Emit `emitted_ids` for this input; what an earlier pass emitted and this one did not is superseded."""
        previous = {
            row["item_id"]
            for row in self.conn.execute(
                "SELECT item_id FROM emits WHERE step=? AND source_id=? AND active=1", (step, source_id)
            )
        }
        for item_id in emitted_ids:
            self.conn.execute(
                """INSERT INTO emits (step, item_id, source_id, active) VALUES (?,?,?,1)
                   ON CONFLICT(step, item_id, source_id) DO UPDATE SET active=1""",
                (step, item_id, source_id),
            )
        stale = previous - set(emitted_ids)
        if stale:
            self._deactivate(step, source_id, stale)

    def _deactivate(self, step: str, source_id: str, item_ids: set[str]) -> None:
        """Withdraw items a step no longer emits, and everything downstream that was made from them."""
        for item_id in item_ids:
            self.conn.execute(
                "UPDATE emits SET active=0 WHERE step=? AND source_id=? AND item_id=?", (step, source_id, item_id)
            )
        if self.step_upstream is not None:
            self._withdraw_downstream({(step, item_id) for item_id in item_ids})
            return
        frontier = set(item_ids)
        while frontier:
            placeholders = ",".join("?" * len(frontier))
            downstream = self.conn.execute(
                f"SELECT step, item_id, source_id FROM emits WHERE active=1 AND source_id IN ({placeholders})",
                tuple(frontier),
            ).fetchall()
            self.conn.execute(f"DELETE FROM progress WHERE item_id IN ({placeholders})", tuple(frontier))
            self.conn.execute(
                f"UPDATE emits SET active=0 WHERE source_id IN ({placeholders})", tuple(frontier)
            )
            frontier = {row["item_id"] for row in downstream} - frontier

    def _withdraw_downstream(self, frontier: set[tuple[str, str]]) -> None:
        """Walk the step graph from (step, item) pairs just withdrawn: each consumer of that step forgets the
        item (its progress row) unless another of its upstream steps still emits it, and withdraws what it
        made from it."""
        consumers: dict[str, list[str]] = {}
        for name, upstream in (self.step_upstream or {}).items():
            for producer in upstream:
                consumers.setdefault(producer, []).append(name)
        seen: set[tuple[str, str]] = set()
        while frontier:
            producer, item_id = frontier.pop()
            if (producer, item_id) in seen:
                continue
            seen.add((producer, item_id))
            for consumer in consumers.get(producer, []):
                upstream = self.step_upstream.get(consumer, [])
                placeholders = ",".join("?" * len(upstream))
                still_emitted = self.conn.execute(
                    f"SELECT 1 FROM emits WHERE step IN ({placeholders}) AND item_id=? AND active=1 LIMIT 1",
                    (*upstream, item_id),
                ).fetchone()
                if still_emitted:
                    continue
                self.conn.execute("DELETE FROM progress WHERE step=? AND item_id=?", (consumer, item_id))
                made = self.conn.execute(
                    "SELECT item_id FROM emits WHERE step=? AND source_id=? AND active=1", (consumer, item_id)
                ).fetchall()
                self.conn.execute("UPDATE emits SET active=0 WHERE step=? AND source_id=?", (consumer, item_id))
                frontier.update((consumer, row["item_id"]) for row in made)

    def forget_progress(self, step: str, item_ids: Iterable[str]) -> int:
        """Make a step process these inputs again on the next run (e.g. after a reviewer's decision)."""
        ids = list(item_ids)
        if not ids:
            return 0
        with self.transaction():
            placeholders = ",".join("?" * len(ids))
            cursor = self.conn.execute(
                f"DELETE FROM progress WHERE step=? AND item_id IN ({placeholders})", (step, *ids)
            )
        return cursor.rowcount

    def transaction(self, what: str = "a write") -> _Transaction:
        return _Transaction(self, what)

    def stopped_by_disk(self, what: str) -> DiskFull:
        """Remember that the disk filled up; LLM cache reads raise the same failure from now on. Writes are
        still tried (a long-lived process such as the review server goes on once space is freed)."""
        self.disk_full = DiskFull(self.path, what)
        if self.on_disk_full is not None:
            self.on_disk_full(self.disk_full)
        return self.disk_full

    def put_records(self, records: Iterable[Record]) -> None:
        now = time.time()
        with self.transaction():
            for record in records:
                self._insert_record(record, now)

    def _merge_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        row = self.conn.execute("SELECT meta FROM records WHERE id=?", (record_id,)).fetchone()
        if row is None:
            return
        meta = json.loads(row["meta"])
        merged = {**meta, **{k: v for k, v in updates.items() if v is not None}}
        for key in [k for k, v in updates.items() if v is None]:
            merged.pop(key, None)
        if merged != meta:
            self.conn.execute(
                "UPDATE records SET meta=? WHERE id=?", (json.dumps(merged, ensure_ascii=False, default=str), record_id)
            )

    def set_meta(self, record_id: str, updates: dict[str, Any]) -> None:
        record = self.get(record_id)
        if record is None:
            raise KeyError(record_id)
        record.meta.update(updates)
        with self.transaction():
            self.conn.execute(
                "UPDATE records SET meta=? WHERE id=?", (json.dumps(record.meta, default=str), record_id)
            )

    # ---- reading -------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        row = self.conn.execute("SELECT * FROM records WHERE id=?", (record_id,)).fetchone()
        return row_to_record(row) if row else None

    def pending_inputs(
        self, step: str, upstream: list[str], settings: str, after_seq: int = 0, limit: int = 256,
        errors_before: float | None = None,
    ) -> list[tuple[int, Record]]:
        """Active emits of the upstream steps that this step has not processed under these settings,
        and those whose processing failed before `errors_before` (a run retries earlier runs' errors,
        not its own)."""
        if not upstream:
            return []
        placeholders = ",".join("?" * len(upstream))
        # Each item at its first active upstream emit (NOT EXISTS, not GROUP BY: grouping made every page
        # scan and sort all of the upstream's emits, quadratic over a run; bench/memory_bench.py).
        rows = self.conn.execute(
            f"""SELECT e.seq AS seq, r.* FROM emits e
                JOIN records r ON r.id = e.item_id
                LEFT JOIN progress p ON p.step = ? AND p.item_id = e.item_id
                WHERE e.step IN ({placeholders}) AND e.active = 1 AND e.seq > ?
                  AND (p.item_id IS NULL OR p.settings != ? OR (p.outcome = 'error' AND p.done_at < ?))
                  AND NOT EXISTS (SELECT 1 FROM emits f WHERE f.item_id = e.item_id AND f.active = 1
                                  AND f.seq < e.seq AND f.step IN ({placeholders}))
                ORDER BY e.seq LIMIT ?""",
            (step, *upstream, after_seq, settings, errors_cutoff(errors_before), *upstream, limit),
        ).fetchall()
        return [(row["seq"], row_to_record(row)) for row in rows]

    def count_pending(
        self, step: str, upstream: list[str], settings: str, errors_before: float | None = None
    ) -> int:
        if not upstream:
            return 0
        placeholders = ",".join("?" * len(upstream))
        return self.conn.execute(
            f"""SELECT COUNT(DISTINCT e.item_id) FROM emits e
                LEFT JOIN progress p ON p.step = ? AND p.item_id = e.item_id
                WHERE e.step IN ({placeholders}) AND e.active = 1
                  AND (p.item_id IS NULL OR p.settings != ? OR (p.outcome = 'error' AND p.done_at < ?))""",
            (step, *upstream, settings, errors_cutoff(errors_before)),
        ).fetchone()[0]

    def done_settings(self, step: str, item_ids: list[str], errors_before: float | None = None) -> dict[str, str]:
        """item id -> the settings each of these inputs was processed under (errors before `errors_before`
        left out, so they are retried)."""
        done: dict[str, str] = {}
        for start in range(0, len(item_ids), 500):
            part = item_ids[start : start + 500]
            placeholders = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT item_id, settings, outcome, done_at FROM progress WHERE step=? AND item_id IN ({placeholders})",
                (step, *part),
            )
            cutoff = errors_cutoff(errors_before)
            done.update((r[0], r[1]) for r in rows if not (r[2] == "error" and r[3] < cutoff))
        return done

    def emitted(self, step: str | list[str], kind: str | None = None) -> Iterator[Record]:
        """Records a step (or any of several steps) passes on now, in the order they were first emitted."""
        steps = [step] if isinstance(step, str) else step
        placeholders = ",".join("?" * len(steps))
        query = f"""SELECT MIN(e.seq) AS seq, r.* FROM emits e JOIN records r ON r.id = e.item_id
                    WHERE e.step IN ({placeholders}) AND e.active = 1"""
        params: list[Any] = list(steps)
        if kind:
            query += " AND r.kind = ?"
            params.append(kind)
        query += " GROUP BY e.item_id ORDER BY seq"
        for row in self.conn.execute(query, params):
            yield row_to_record(row)

    def count_emitted(self, step: str) -> int:
        return self.conn.execute(
            "SELECT COUNT(DISTINCT item_id) FROM emits WHERE step=? AND active=1", (step,)
        ).fetchone()[0]

    def records_of_kind(self, kind: str) -> Iterator[Record]:
        for row in self.conn.execute("SELECT * FROM records WHERE kind=? ORDER BY created_at, id", (kind,)):
            yield row_to_record(row)

    def lineage(self, record_id: str) -> list[Record]:
        """The record and all its ancestors, nearest first."""
        seen: dict[str, Record] = {}
        frontier = [record_id]
        while frontier:
            current = frontier.pop(0)
            if current in seen:
                continue
            record = self.get(current)
            if record is None:
                continue
            seen[current] = record
            frontier.extend(record.parent_ids)
        return list(seen.values())

    def progress_rows(self, step: str | None = None) -> list[sqlite3.Row]:
        if step is None:
            return self.conn.execute("SELECT * FROM progress").fetchall()
        return self.conn.execute("SELECT * FROM progress WHERE step=?", (step,)).fetchall()

    # ---- LLM request cache ---------------------------------------------------------------------

    def cache_get(self, key: str) -> dict[str, Any] | None:
        if self.disk_full is not None:  # the reply to a request sent now could not be stored: send none
            raise self.disk_full
        row = self.conn.execute("SELECT response FROM llm_cache WHERE key=?", (key,)).fetchone()
        return json.loads(row["response"]) if row else None

    def cache_put(self, key: str, model: str, request: dict, response: dict, usage: dict) -> None:
        # Written at once, outside any batch, so a request answered just before a crash is not re-sent.
        with self.transaction("the LLM request cache"):
            self.conn.execute(
                """INSERT OR REPLACE INTO llm_cache
                   (key, model, request, response, prompt_tokens, completion_tokens, created_at)
                   VALUES (?,?,?,?,?,?,?)""",
                (
                    key, model, json.dumps(request, ensure_ascii=False), json.dumps(response, ensure_ascii=False),
                    usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), time.time(),
                ),
            )

    def cache_entry(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM llm_cache WHERE key=?", (key,)).fetchone()
        if not row:
            return None
        return {"key": key, "model": row["model"], "request": json.loads(row["request"]),
                "response": json.loads(row["response"])}

    # ---- runs ----------------------------------------------------------------------------------

    def start_run(self) -> int:
        with self.transaction("the start of a run"):
            cursor = self.conn.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, outcome: str, message: str = "") -> None:
        with self.transaction("the end of a run"):
            self.conn.execute(
                "UPDATE runs SET finished_at=?, outcome=?, message=? WHERE id=?",
                (time.time(), outcome, message, run_id),
            )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error; nested use joins the outer transaction. A write or
    commit that fails for want of space becomes the store's DiskFull."""

    def __init__(self, store: Store, what: str):
        self.store = store
        self.conn = store.conn
        self.what = what
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        self.outer = not self.conn.in_transaction
        if self.outer:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outer:
            return
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as error:
                self.roll_back()
                if is_disk_full(error, self.store.path.parent):
                    raise self.store.stopped_by_disk(self.what) from error
                raise
            return
        self.roll_back()
        if exc is not None and not isinstance(exc, DiskFull) and is_disk_full(exc, self.store.path.parent):
            raise self.store.stopped_by_disk(self.what) from exc

    def roll_back(self) -> None:
        if self.conn.in_transaction:  # SQLite rolls back by itself after some errors, SQLITE_FULL among them
            self.conn.execute("ROLLBACK")


def errors_cutoff(errors_before: float | None) -> float:
    """No cutoff retries no error: every done_at is later than minus infinity."""
    return float("-inf") if errors_before is None else errors_before


def open_store(project_dir: Path) -> Store:
    return Store(project_dir / ".sftgen" / "store.db")
