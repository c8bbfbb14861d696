"""Strings the store refers to by a small integer: item ids, step names and settings hashes in `names`,
record texts in `texts` (each distinct text once: a page's passages found by many queries share it).

A name's number never changes once given (no code deletes names), so the store's connection remembers the
numbers it found (`NameNumbers`). One found or given inside a transaction is remembered only once that
transaction commits: one that rolls back would leave a number another name then gets."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable


class NameNumbers:
    """The numbers a connection found: those committed, and those of the transaction it is in (store/db.py's
    Transaction keeps them on commit and forgets them on rollback)."""

    def __init__(self) -> None:
        self.committed: dict[str, int] = {}
        self.pending: dict[str, int] = {}

    def get(self, conn: sqlite3.Connection, name: str) -> int | None:
        n = self.committed.get(name)
        if n is None and self.pending:
            if not conn.in_transaction:  # ended outside a Transaction: whether it committed is unknown
                self.pending.clear()
            else:
                n = self.pending.get(name)
        return n

    def get_many(self, conn: sqlite3.Connection, names: Iterable[str]) -> tuple[dict[str, int], list[str]]:
        """`get` for each name: (name -> number of those remembered, the names not remembered)."""
        if self.pending and not conn.in_transaction:
            self.pending.clear()
        committed, pending = self.committed, self.pending
        found: dict[str, int] = {}
        missing: list[str] = []
        for name in names:
            n = committed.get(name)
            if n is None and pending:
                n = pending.get(name)
            if n is None:
                missing.append(name)
            else:
                found[name] = n
        return found, missing

    def found(self, conn: sqlite3.Connection, name: str, n: int) -> None:
        (self.pending if conn.in_transaction else self.committed)[name] = n

    def found_many(self, conn: sqlite3.Connection, numbers: Iterable[tuple[str, int]]) -> None:
        (self.pending if conn.in_transaction else self.committed).update(numbers)

    def committed_now(self) -> None:
        self.committed.update(self.pending)
        self.pending.clear()

    def rolled_back(self) -> None:
        self.pending.clear()


class TextNumbers:
    """hash -> number of texts a connection read outside a transaction (committed), the `HELD` most recently
    read: a cached request that quotes one of them refers to it without a query per request (store/llm_cache.py).
    A text's number holds while the text is in the store; `sftgen gc` forgets them all when it deletes texts."""

    HELD = 8192
    HEAD_CHARS = 256
    """How much of a text's start is held (`heads`): a progress label is at most that long in practice."""

    def __init__(self) -> None:
        # An OrderedDict, not a dict: a dict whose oldest entry is deleted again and again scans the deleted
        # slots at its front to find the next oldest (6 us per text at 8,192 held, against 0.5).
        self.numbers: OrderedDict[bytes, int] = OrderedDict()
        self.heads: OrderedDict[int, tuple[str, bool]] = OrderedDict()
        """text number -> (its first HEAD_CHARS characters, whether that is all of it), of the texts most
        recently read as a step's inputs: the test of their progress labels reads no text (store/progress.py)."""
        self.lock = threading.Lock()  # the connection is shared with worker threads (sftgen/turns.py)

    def saw(self, conn: sqlite3.Connection, found: Iterable[tuple[bytes, int]]) -> None:
        """Remember these (hash, number) read on `conn`, unless inside a transaction (a text inserted in it
        would be gone if it rolled back)."""
        if not conn.in_transaction:
            self.remember(found)

    def remember(self, found: Iterable[tuple[bytes, int]]) -> None:
        """Remember these (hash, number), known to be committed."""
        numbers = self.numbers
        with self.lock:
            for digest, n in found:
                numbers[digest] = n
                numbers.move_to_end(digest)  # the most recent last
            while len(numbers) > self.HELD:
                numbers.popitem(last=False)

    def get(self, digest: bytes) -> int | None:
        return self.numbers.get(digest)

    def saw_texts(self, conn: sqlite3.Connection, found: Iterable[tuple[int, str]]) -> None:
        """Hold the starts of these (number, text) read on `conn`, unless inside a transaction (as `saw`)."""
        if conn.in_transaction:
            return
        limit, heads = self.HEAD_CHARS, self.heads
        with self.lock:
            for n, text in found:
                heads[n] = (text[:limit], len(text) <= limit)
                heads.move_to_end(n)
            while len(heads) > self.HELD:
                heads.popitem(last=False)

    def head(self, n: int, length: int) -> str | None:
        """The first `length` characters of text number `n`, if held (None: read it)."""
        held = self.heads.get(n)
        if held is None or (length > self.HEAD_CHARS and not held[1]):
            return None
        return held[0][:length]

    def forget(self) -> None:
        with self.lock:
            self.numbers.clear()
            self.heads.clear()


def texts_seen(conn: sqlite3.Connection) -> TextNumbers | None:
    """The connection's remembered text numbers (None for a plain sqlite3 connection)."""
    return getattr(conn, "texts_seen", None)


def numbers_of(conn: sqlite3.Connection) -> NameNumbers | None:
    """The connection's remembered numbers (None for a plain sqlite3 connection: every look-up queries)."""
    return getattr(conn, "names", None)


def name_id(conn: sqlite3.Connection, name: str) -> int | None:
    """The number of a name, or None when the store never saw it (a read then finds nothing)."""
    numbers = numbers_of(conn)
    if numbers is not None and (n := numbers.get(conn, name)) is not None:
        return n
    row = conn.execute("SELECT n FROM names WHERE name=?", (name,)).fetchone()
    if row is None:
        return None
    if numbers is not None:
        numbers.found(conn, name, row[0])
    return row[0]


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
        if (numbers := numbers_of(conn)) is not None:
            numbers.found(conn, name, n)
    if memo is not None:
        memo[name] = n
    return n


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def intern_text(conn: sqlite3.Connection, text: str, stored: Callable[[str], str | bytes] | None = None) -> int:
    """The number of a text, stored now if no record has it yet (as `stored(text)` gives it: store/text_codec.py);
    inside the caller's transaction."""
    digest = text_hash(text)
    row = conn.execute("SELECT n FROM texts WHERE hash=?", (digest,)).fetchone()
    if row is not None:
        return row[0]
    value = text if stored is None else stored(text)
    return int(conn.execute("INSERT INTO texts (hash, text) VALUES (?, ?)", (digest, value)).lastrowid)
