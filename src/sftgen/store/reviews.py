"""The `reviews` table: reviewers' decisions, append-only (decisions/log.py says what they add up to)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sftgen.store.db import Database, marks
from sftgen.store.interning import name_id, name_ids

COLUMNS = ("item_id", "kind", "version_id", "reviewer", "decision", "reason", "edited_text", "new_version_id",
           "scores", "source", "external_id", "seconds", "created_at", "picked")


class Reviews:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn

    def insert(self, **values: Any) -> int:
        """One decision (the columns of COLUMNS); inside the caller's transaction. Returns its seq."""
        cursor = self.conn.execute(
            f"INSERT INTO reviews ({', '.join(COLUMNS)}) VALUES ({marks(COLUMNS)})",
            tuple(int(bool(values.get(column))) if column == "picked" else values.get(column) for column in COLUMNS),
        )
        return int(cursor.lastrowid)

    def select(self, item_ids: Sequence[str] | None = None, kind: str | None = None) -> list[sqlite3.Row]:
        """Decisions in the order they were made, of these items (None: all) and of this kind (None: any)."""
        query, params = "SELECT * FROM reviews WHERE 1=1", []
        if kind:
            query += " AND kind=?"
            params.append(kind)
        if item_ids is not None:
            if not item_ids:
                return []
            query += f" AND item_id IN ({marks(item_ids)})"
            params.extend(item_ids)
        return self.conn.execute(query + " ORDER BY seq", params).fetchall()

    def picked(self, kind: str, prompt_id: str | None = None) -> list[sqlite3.Row]:
        """The decisions that picked an item among its prompt's candidates (of this prompt: the items whose
        meta names it), in the order they were made."""
        if prompt_id is None:
            return self.conn.execute("SELECT * FROM reviews WHERE kind=? AND picked=1 ORDER BY seq", (kind,)).fetchall()
        return self.picked_of_prompts(kind, [prompt_id])

    def picked_of_prompts(self, kind: str, prompt_ids: Sequence[str]) -> list[sqlite3.Row]:
        """`picked` for several prompts in one query, each row with its item's `prompt_id`."""
        if not prompt_ids:
            return []
        return self.conn.execute(
            f"""SELECT v.*, json_extract(meta_sql(r.meta), '$.prompt_id') AS prompt_id
                FROM reviews v JOIN names i ON i.name = v.item_id JOIN record_rows r ON r.n = i.n
                WHERE v.kind=? AND v.picked=1 AND json_extract(meta_sql(r.meta), '$.prompt_id') IN ({marks(prompt_ids)})
                ORDER BY v.seq""",
            (kind, *prompt_ids)).fetchall()

    def has_external(self, external_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM reviews WHERE external_id=?", (external_id,)).fetchone() is not None

    def latest_imported(self, annotation_key: str) -> sqlite3.Row | None:
        """The decision last imported for an annotation of another tool (external ids `<key>@<version>`;
        before versions were kept, the bare key)."""
        pattern = annotation_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%"
        return self.conn.execute(
            "SELECT * FROM reviews WHERE external_id = ? OR external_id LIKE ? ESCAPE '\\' ORDER BY seq DESC LIMIT 1",
            (annotation_key, pattern),
        ).fetchone()

    def waiting_for_run(self, gate: str, kind: str, upstream: Sequence[str]) -> int:
        """Items of this kind with a decision the gate has not applied yet: its progress row is forgotten and
        its upstream still passes them on."""
        gate_n = name_id(self.conn, gate)
        numbers = name_ids(self.conn, upstream)
        return self.conn.execute(
            f"""SELECT COUNT(DISTINCT r.item_id) FROM reviews r JOIN names i ON i.name = r.item_id
                LEFT JOIN progress_rows p ON p.step = ? AND p.item = i.n
                WHERE r.kind = ? AND p.item IS NULL
                  AND EXISTS (SELECT 1 FROM emit_rows e WHERE e.item = i.n AND e.active = 1
                              AND e.step IN ({marks(numbers)}))""",
            (0 if gate_n is None else gate_n, kind, *numbers),
        ).fetchone()[0]

    def set_aside(self, kind: str, upstream: Sequence[str]) -> int:
        """Items of this kind with a decision that the gate's upstream no longer passes on."""
        numbers = name_ids(self.conn, upstream)
        return self.conn.execute(
            f"""SELECT COUNT(DISTINCT r.item_id) FROM reviews r LEFT JOIN names i ON i.name = r.item_id
                WHERE r.kind = ? AND NOT EXISTS (SELECT 1 FROM emit_rows e WHERE e.item = i.n
                                                 AND e.active = 1 AND e.step IN ({marks(numbers)}))""",
            (kind, *numbers),
        ).fetchone()[0]
