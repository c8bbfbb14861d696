"""The `runs` table: one row per `sftgen run`, with how it ended."""

from __future__ import annotations

import time

from sftgen.store.db import Database


class Runs:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn

    def start(self) -> int:
        with self.db.transaction("the start of a run"):
            cursor = self.conn.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
        return int(cursor.lastrowid)

    def finish(self, run_id: int, outcome: str, message: str = "") -> None:
        with self.db.transaction("the end of a run"):
            self.conn.execute(
                "UPDATE runs SET finished_at=?, outcome=?, message=? WHERE id=?",
                (time.time(), outcome, message, run_id),
            )

    def start_times(self) -> list[float]:
        """When each run started, newest first."""
        return [row[0] for row in self.conn.execute("SELECT started_at FROM runs ORDER BY id DESC")]
