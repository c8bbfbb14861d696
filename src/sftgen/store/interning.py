"""Strings the store refers to by a small integer: item ids, step names and settings hashes in `names`,
record texts in `texts` (each distinct text once: a page's passages found by many queries share it).

No cache in front of the look-ups: a name interned inside a transaction that rolls back would leave a
number another name then gets. A look-up is one probe of a unique index."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable


def name_id(conn: sqlite3.Connection, name: str) -> int | None:
    """The number of a name, or None when the store never saw it (a read then finds nothing)."""
    row = conn.execute("SELECT n FROM names WHERE name=?", (name,)).fetchone()
    return row[0] if row else None


def name_ids(conn: sqlite3.Connection, names: Iterable[str]) -> list[int]:
    """The numbers of the names the store knows, in the order given (the others left out)."""
    found = []
    for name in names:
        n = name_id(conn, name)
        if n is not None:
            found.append(n)
    return found


def intern(conn: sqlite3.Connection, name: str, memo: dict[str, int] | None = None) -> int:
    """The number of a name, given one now if it has none; inside the caller's transaction. `memo` holds
    the numbers found in this transaction (it must not outlive it: see above)."""
    if memo is not None and name in memo:
        return memo[name]
    n = name_id(conn, name)
    if n is None:
        n = int(conn.execute("INSERT INTO names (name) VALUES (?)", (name,)).lastrowid)
    if memo is not None:
        memo[name] = n
    return n


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def intern_text(conn: sqlite3.Connection, text: str) -> int:
    """The number of a text, stored now if no record has it yet; inside the caller's transaction."""
    digest = text_hash(text)
    row = conn.execute("SELECT n FROM texts WHERE hash=?", (digest,)).fetchone()
    if row is not None:
        return row[0]
    return int(conn.execute("INSERT INTO texts (hash, text) VALUES (?, ?)", (digest, text)).lastrowid)
