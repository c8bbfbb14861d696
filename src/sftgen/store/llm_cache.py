"""The `llm_cache` table: request hash -> the raw request and its validated raw reply, both as zlib-compressed
JSON. Requests of one template repeat its instructions, so a request is compressed with a dictionary: the
first request stored with the same opening (the model and the start of the first message) is kept once in
`llm_cache_dicts`, and later ones store little more than what differs (the item's text). Replies are
compressed the same way, against the first reply to a request of that opening (after a common reply
envelope): replies of one template share their fields and JSON keys. Rows written before compression hold
the JSON text, and replies written before their dictionaries plain zlib; both are read as they are."""

from __future__ import annotations

import hashlib
import json
import struct
import time
import zlib
from collections.abc import Callable
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
REPLY_ENVELOPE = (b'{"id": "chatcmpl-", "object": "chat.completion", "created": 17, "model": "", "choices": [{"index": 0, '
                  b'"message": {"role": "assistant", "content": "", "refusal": null, "tool_calls": null}, '
                  b'"finish_reason": "stop", "logprobs": null}], "usage": {"prompt_tokens": , "completion_tokens": , '
                  b'"total_tokens": }, "system_fingerprint": null}')
"""What an OpenAI-style reply starts its dictionary with (a reply dictionary is this and the first reply)."""
REPLY_OPENING = b"reply:"
"""Prefixed to a request's opening: the key of the dictionary its replies are compressed with."""


def as_bytes(value: dict | bytes | str) -> bytes:
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    return value.encode("utf-8") if isinstance(value, str) else value


def opening_of(body: bytes) -> bytes:
    return hashlib.blake2b(body[:OPENING_BYTES], digest_size=16).digest()


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
        return self.packed_with(opening_of(body), body, lambda: body[-DICTIONARY_BYTES:])

    def packed_reply(self, request: dict | bytes, response: dict) -> tuple[bytes, tuple[bytes, int, bytes] | None]:
        """As `packed_request`, for the reply: against the first reply to a request of the same opening."""
        body = as_bytes(response)
        return self.packed_with(opening_of(REPLY_OPENING + as_bytes(request)[:OPENING_BYTES]), body,
                                lambda: (REPLY_ENVELOPE + body)[-DICTIONARY_BYTES:])

    def packed_with(self, opening: bytes, body: bytes, first: Callable[[], bytes],
                    ) -> tuple[bytes, tuple[bytes, int, bytes] | None]:
        made = None
        held = self._by_opening.get(opening)
        if held is None:
            row = self.conn.execute("SELECT id, data FROM llm_cache_dicts WHERE opening=?", (opening,)).fetchone()
            if row is None:
                data = first()
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
        return unpacked(row["response"], self.dictionary) if row else None

    def put(self, key: str, model: str, request: dict | bytes, response: dict, usage: dict) -> None:
        """`request` is the body as sent: its dict or the JSON bytes the client posted."""
        # Written at once, outside any batch, so a request answered just before a crash is not re-sent.
        self.put_many([(key, model, request, response, usage)])

    def put_many(self, rows: list[tuple[str, str, dict | bytes, dict, dict]]) -> None:
        """Several `put`s' rows (key, model, request, response, usage) in one transaction and one statement."""
        made_now = []
        with self.db.transaction("the LLM request cache"):
            values = []
            for key, model, request, response, usage in rows:
                stored, made_for_request = self.packed_request(request)
                reply, made_for_reply = self.packed_reply(request, response)
                made_now += [made_for_request, made_for_reply]
                values.append((key, model, stored, reply, usage.get("prompt_tokens", 0),
                               usage.get("completion_tokens", 0), time.time()))
            self.conn.executemany(
                """INSERT OR REPLACE INTO llm_cache
                   (key, model, request, response, prompt_tokens, completion_tokens, created_at)
                   VALUES (?,?,?,?,?,?,?)""", values)
        for made in made_now:
            if made is not None:  # committed: later requests of this opening use it
                opening, dictionary_id, data = made
                self._by_opening[opening] = (dictionary_id, data)
                self._by_id[dictionary_id] = data

    def entry(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM llm_cache WHERE key=?", (key,)).fetchone()
        if not row:
            return None
        return {"key": key, "model": row["model"], "request": unpacked(row["request"], self.dictionary),
                "response": unpacked(row["response"], self.dictionary)}

    def models(self) -> list[dict[str, Any]]:
        """The models that answered, most requests first."""
        rows = self.conn.execute("SELECT model, COUNT(*) AS n FROM llm_cache GROUP BY model ORDER BY n DESC")
        return [{"model": row["model"], "requests": row["n"]} for row in rows]
