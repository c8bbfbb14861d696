"""How an LLM cache key is stored: its first 8 bytes as a number `k` (indexed), the rest in the row
(`tail`): a key costs ~21 bytes in the row and ~11 in the index, instead of 40 characters in each. (The rows
keep numbers in the order they are written: a hash as the row's own number would scatter the inserts over
the table's pages and leave them a fifth empty.)

A key is the 40 hex characters of a 20-byte hash (llm/client.py): k = the first 8 bytes (signed), tail =
`HEX_KEY` + the other 12. Any other string (tests, older callers) is kept whole: k = 8 bytes of its hash,
tail = `TEXT_KEY` + its UTF-8. A row is found by both (two keys may share a k)."""

from __future__ import annotations

import hashlib
import string

HEX_KEY = b"\x01"
TEXT_KEY = b"\x02"
HEX_DIGITS = frozenset(string.hexdigits.lower()[:16])

KEY_SQL = """CASE WHEN substr(tail, 1, 1) = x'01' THEN lower(printf('%016x', k) || hex(substr(tail, 2)))
                 ELSE CAST(substr(tail, 2) AS TEXT) END"""
"""The key string of an `llm_rows` row, in SQL (the `llm_cache` view's `key`)."""


def key_parts(key: str) -> tuple[int, bytes]:
    """(k, tail) of a key."""
    if len(key) == 40 and HEX_DIGITS.issuperset(key):
        raw = bytes.fromhex(key)
        return int.from_bytes(raw[:8], "big", signed=True), HEX_KEY + raw[8:]
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True), TEXT_KEY + key.encode("utf-8", "surrogatepass")


def key_of(k: int, tail: bytes) -> str:
    if tail[:1] == HEX_KEY:
        return (k.to_bytes(8, "big", signed=True) + tail[1:]).hex()
    return tail[1:].decode("utf-8", "surrogatepass")
