"""The `llm_cache` table: request hash -> the raw request and its validated raw reply, both as zlib-compressed
JSON (a request repeats its template's instructions: it shrinks about five times). Rows written before
compression hold the JSON text and are read as they are."""

from __future__ import annotations

import json
import time
import zlib
from typing import Any

from sftgen.store.db import Database

LEVEL = 6


def packed(value: dict | bytes | str) -> bytes:
    """The compressed JSON of a request or reply (`value` may be its JSON already, as sent)."""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        value = value.encode("utf-8")
    return zlib.compress(value, LEVEL)


def unpacked(stored: bytes | str) -> Any:
    return json.loads(zlib.decompress(stored) if isinstance(stored, bytes) else stored)


class LLMCache:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn

    def get(self, key: str) -> dict[str, Any] | None:
        if self.db.disk_full is not None:  # the reply to a request sent now could not be stored: send none
            raise self.db.disk_full
        row = self.conn.execute("SELECT response FROM llm_cache WHERE key=?", (key,)).fetchone()
        return unpacked(row["response"]) if row else None

    def put(self, key: str, model: str, request: dict | bytes, response: dict, usage: dict) -> None:
        """`request` is the body as sent: its dict or the JSON bytes the client posted."""
        # Written at once, outside any batch, so a request answered just before a crash is not re-sent.
        with self.db.transaction("the LLM request cache"):
            self.conn.execute(
                """INSERT OR REPLACE INTO llm_cache
                   (key, model, request, response, prompt_tokens, completion_tokens, created_at)
                   VALUES (?,?,?,?,?,?,?)""",
                (
                    key, model, packed(request), packed(response),
                    usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), time.time(),
                ),
            )

    def entry(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM llm_cache WHERE key=?", (key,)).fetchone()
        if not row:
            return None
        return {"key": key, "model": row["model"], "request": unpacked(row["request"]),
                "response": unpacked(row["response"])}

    def models(self) -> list[dict[str, Any]]:
        """The models that answered, most requests first."""
        rows = self.conn.execute("SELECT model, COUNT(*) AS n FROM llm_cache GROUP BY model ORDER BY n DESC")
        return [{"model": row["model"], "requests": row["n"]} for row in rows]
