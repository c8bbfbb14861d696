"""The `llm_cache` table: request hash -> the raw request and its validated raw reply, both as zlib-compressed
JSON. Requests of one template repeat its instructions, so a request is compressed with a dictionary: the
first request stored with the same opening (the model and the start of the first message) is kept once in
`llm_cache_dicts`, and later ones store little more than what differs (the item's text). Rows written
before compression hold the JSON text and are read as they are."""

from __future__ import annotations

import hashlib
import json
import struct
import time
import zlib
from typing import Any

from sftgen.store.db import Database

LEVEL = 6
WITH_DICTIONARY = b"\x01"
"""First byte of a request compressed with a dictionary (then its id, 4 bytes); a plain zlib stream starts
with 0x78."""
OPENING_BYTES = 240
"""How much of a request's JSON says which template it comes from."""
DICTIONARY_BYTES = 32 * 1024
"""zlib looks back this far at most."""


def as_bytes(value: dict | bytes | str) -> bytes:
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    return value.encode("utf-8") if isinstance(value, str) else value


def packed(value: dict | bytes | str) -> bytes:
    """The compressed JSON of a request or reply (`value` may be its JSON already, as sent)."""
    return zlib.compress(as_bytes(value), LEVEL)


def unpacked(stored: bytes | str, dictionaries: Any = None) -> Any:
    """The JSON value of a stored request or reply; `dictionaries(id)` gives a dictionary's bytes (needed
    only for requests stored with one: `LLMCache.entry` reads those)."""
    if isinstance(stored, str):
        return json.loads(stored)
    if stored[:1] == WITH_DICTIONARY:
        (dictionary_id,) = struct.unpack(">I", stored[1:5])
        inflate = zlib.decompressobj(zdict=dictionaries(dictionary_id))
        return json.loads(inflate.decompress(stored[5:]) + inflate.flush())
    return json.loads(zlib.decompress(stored))


class LLMCache:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn
        self._by_opening: dict[bytes, tuple[int, bytes]] = {}
        self._by_id: dict[int, bytes] = {}

    def dictionary(self, dictionary_id: int) -> bytes:
        if dictionary_id not in self._by_id:
            row = self.conn.execute("SELECT data FROM llm_cache_dicts WHERE id=?", (dictionary_id,)).fetchone()
            if row is None:
                raise KeyError(f"LLM cache dictionary {dictionary_id} is missing")
            self._by_id[dictionary_id] = row[0]
        return self._by_id[dictionary_id]

    def packed_request(self, request: dict | bytes) -> tuple[bytes, tuple[bytes, int, bytes] | None]:
        """Inside the caller's transaction: the compressed request, and the dictionary it made (the first
        request of an opening becomes its dictionary), to remember once the transaction commits."""
        body = as_bytes(request)
        opening = hashlib.blake2b(body[:OPENING_BYTES], digest_size=16).digest()
        made = None
        held = self._by_opening.get(opening)
        if held is None:
            row = self.conn.execute("SELECT id, data FROM llm_cache_dicts WHERE opening=?", (opening,)).fetchone()
            if row is None:
                data = body[-DICTIONARY_BYTES:]
                cursor = self.conn.execute("INSERT INTO llm_cache_dicts (opening, data) VALUES (?, ?)", (opening, data))
                row = (int(cursor.lastrowid), data)
            held = (row[0], row[1])
            made = (opening, *held)
        dictionary_id, data = held
        deflate = zlib.compressobj(LEVEL, zdict=data)
        return WITH_DICTIONARY + struct.pack(">I", dictionary_id) + deflate.compress(body) + deflate.flush(), made

    def get(self, key: str) -> dict[str, Any] | None:
        if self.db.disk_full is not None:  # the reply to a request sent now could not be stored: send none
            raise self.db.disk_full
        row = self.conn.execute("SELECT response FROM llm_cache WHERE key=?", (key,)).fetchone()
        return unpacked(row["response"]) if row else None

    def put(self, key: str, model: str, request: dict | bytes, response: dict, usage: dict) -> None:
        """`request` is the body as sent: its dict or the JSON bytes the client posted."""
        # Written at once, outside any batch, so a request answered just before a crash is not re-sent.
        with self.db.transaction("the LLM request cache"):
            stored, made = self.packed_request(request)
            self.conn.execute(
                """INSERT OR REPLACE INTO llm_cache
                   (key, model, request, response, prompt_tokens, completion_tokens, created_at)
                   VALUES (?,?,?,?,?,?,?)""",
                (
                    key, model, stored, packed(response),
                    usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), time.time(),
                ),
            )
        if made is not None:  # committed: later requests of this opening use it
            opening, dictionary_id, data = made
            self._by_opening[opening] = (dictionary_id, data)
            self._by_id[dictionary_id] = data

    def entry(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM llm_cache WHERE key=?", (key,)).fetchone()
        if not row:
            return None
        return {"key": key, "model": row["model"], "request": unpacked(row["request"], self.dictionary),
                "response": unpacked(row["response"])}

    def models(self) -> list[dict[str, Any]]:
        """The models that answered, most requests first."""
        rows = self.conn.execute("SELECT model, COUNT(*) AS n FROM llm_cache GROUP BY model ORDER BY n DESC")
        return [{"model": row["model"], "requests": row["n"]} for row in rows]
