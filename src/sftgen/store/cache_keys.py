"""How an LLM cache key is stored: its first 8 bytes as the row's number, the rest in the row (`tail`), so
the table needs no index of its own and a key costs ~21 bytes instead of 40 characters twice (row and index).

A key is the 40 hex characters of a 20-byte hash (llm/client.py): number = the first 8 bytes (signed),
tail = `HEX_KEY` + the other 12. Any other string (tests, older callers) is kept whole: number = 8 bytes of
its hash, tail = `TEXT_KEY` + its UTF-8. Two keys with the same number are told apart by their tails: a
read finds only its own key; storing one replaces the other's row (asked again when it is next needed)."""

from __future__ import annotations

import hashlib
import string

HEX_KEY = b"\x01"
TEXT_KEY = b"\x02"
HEX_DIGITS = frozenset(string.hexdigits.lower()[:16])

KEY_SQL = """CASE WHEN substr(tail, 1, 1) = x'01' THEN lower(printf('%016x', n) || hex(substr(tail, 2)))
                 ELSE CAST(substr(tail, 2) AS TEXT) END"""
"""The key string of an `llm_rows` row, in SQL (the `llm_cache` view's `key`)."""


def key_parts(key: str) -> tuple[int, bytes]:
    """(number, tail) of a key."""
    if len(key) == 40 and HEX_DIGITS.issuperset(key):
        raw = bytes.fromhex(key)
        return int.from_bytes(raw[:8], "big", signed=True), HEX_KEY + raw[8:]
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True), TEXT_KEY + key.encode("utf-8", "surrogatepass")


def key_of(n: int, tail: bytes) -> str:
    if tail[:1] == HEX_KEY:
        return (n.to_bytes(8, "big", signed=True) + tail[1:]).hex()
    return tail[1:].decode("utf-8", "surrogatepass")
