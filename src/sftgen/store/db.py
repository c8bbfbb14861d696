"""The store's SQLite database: the connection, every table, and transactions that turn a full disk into
`DiskFull`.

Tables (ids, step names and settings hashes are numbers from `names`; each distinct record text and progress
label is kept once in `texts`: store/interning.py):
- record_rows: every item with identity, provenance (`parents`: the numbers of its parent ids), text, meta
            (compressed with meta_dicts, a dictionary per kind: store/meta_codec.py; read it through the SQL
            functions `meta_text` and `meta_sql`), status and drop reason. Its text is in `texts`, compressed
            with text_dicts where that pays (store/text_codec.py; read it through the SQL function `text_of`).
- emit_rows: which step passed on which item, and from which input (`source`), in `seq` order (a new emit
            is numbered after the largest there is). A step's inputs are the
            active emits of its upstream steps; a filter emits the inputs it keeps.
- progress_rows: one row per (step, input), WITHOUT ROWID on that key: the settings hash it was processed
            under, the outcome (kept / dropped / error), the reason, the label (`LABEL`), the LLM requests, cache hits and tokens it cost, and the
            keys of the LLM cache rows its replies are in (space-separated; NULL in rows written before
            they were kept: `sftgen gc` then keeps every cache row).
- llm_rows: request hash -> raw request and validated raw reply (compressed: store/llm_cache.py), the hash
            as a number and the rest of it (store/cache_keys.py), with llm_cache_dicts, the
            dictionaries its requests and replies are compressed with. The view `llm_cache` reads it with
            the keys as strings (the table of that name in older stores).
- runs:     one row per `sftgen run`, for the log and the budget.
- reviews:  reviewers' decisions, append-only (decisions/log.py says what they add up to).
The views `records`, `emits` and `progress` read the first three back with their text ids (the tables of
those names in stores made before the numbers: store/migrate.py). The query modules write the tables and
read them directly where an index must serve.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from sftgen.records import Record, Status
from sftgen.store.cache_keys import KEY_SQL
from sftgen.store.disk_full import DiskFull, is_disk_full
from sftgen.store.interning import NameNumbers, TextNumbers
from sftgen.store.meta_codec import MetaCodec
from sftgen.store.migrate import migrate
from sftgen.store.text_codec import TextCodec



def record_text(column: str) -> str:
    """SQL for a record's text from the `texts.text` column named (stored compressed or as it is)."""
    return f"text_of({column})"


def label_sql(text: Callable[[str], str]) -> str:
    """A progress row's label, from `progress_rows p LEFT JOIN texts l ON l.n = p.label`, each texts column
    read through `text`: a number below zero stands for the first that many characters of the input
    record's text (most steps label an input by the start of its text: store/progress.py `stored_label`),
    any other is the label's number in `texts` (a label's text can be a record's too)."""
    return f"""CASE WHEN p.label < 0 THEN (SELECT substr({text("lt.text")}, 1, -p.label) FROM record_rows lr
                                      JOIN texts lt ON lt.n = lr.text WHERE lr.n = p.item)
                 ELSE {text("l.text")} END"""


LABEL = label_sql(record_text)
"""The label as sftgen reads it (through `text_of`)."""

DONE_STEPS = """done_steps(step) AS (
    SELECT MIN(step) FROM progress_rows
    UNION ALL SELECT (SELECT MIN(step) FROM progress_rows WHERE step > d.step) FROM done_steps d WHERE d.step IS NOT NULL)"""
"""A recursive CTE (after `WITH RECURSIVE`): the steps `progress_rows` has rows of, one seek each down its
key (SQLite's DISTINCT would read every row); `p.step IN (SELECT step FROM done_steps) AND p.item = ?` finds an
item's rows through the key."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS names (
    n INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS texts (
    n INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS record_rows (
    n INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    text INTEGER NOT NULL,
    parents TEXT NOT NULL,
    meta TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    reason TEXT,
    dropped_by TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS record_rows_kind ON record_rows(kind, status);
CREATE TABLE IF NOT EXISTS emit_rows (
    seq INTEGER PRIMARY KEY,
    step INTEGER NOT NULL,
    item INTEGER NOT NULL,
    source INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
-- What one input of a step emitted (and the one row of a (step, source, item)); without it SQLite scans the
-- step's emits per write (quadratic).
CREATE UNIQUE INDEX IF NOT EXISTS emit_rows_step_source ON emit_rows(step, source, item);
-- Each entry ends with the row's seq (its rowid): a step's active emits in seq order, an item's emits.
CREATE INDEX IF NOT EXISTS emit_rows_step_active ON emit_rows(step, active);
CREATE INDEX IF NOT EXISTS emit_rows_item ON emit_rows(item, active);
CREATE TABLE IF NOT EXISTS progress_rows (
    step INTEGER NOT NULL,
    item INTEGER NOT NULL,
    settings INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    label INTEGER,
    n_outputs INTEGER NOT NULL DEFAULT 0,
    llm_requests INTEGER NOT NULL DEFAULT 0,
    cache_hits INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0,
    done_at REAL NOT NULL,
    cache_keys TEXT,
    PRIMARY KEY (step, item)
) WITHOUT ROWID;
-- No index by item alone: it took a scattered page per commit (one WAL frame per item at 20,000 prompts);
-- an item's rows are read through the key, one seek per step (`DONE_STEPS`).
CREATE VIEW IF NOT EXISTS records AS
    SELECT i.name AS id, r.kind, r.step, t.text,
           (SELECT '[' || COALESCE(group_concat(json_quote(p.name), ', '), '') || ']'
            FROM json_each(r.parents) j CROSS JOIN names p ON p.n = j.value) AS parent_ids,
           r.meta, r.origin, r.status, r.reason,
           r.dropped_by, r.created_at
    FROM record_rows r JOIN names i ON i.n = r.n JOIN texts t ON t.n = r.text;
CREATE VIEW IF NOT EXISTS emits AS
    SELECT e.seq, s.name AS step, i.name AS item_id, o.name AS source_id, e.active
    FROM emit_rows e JOIN names s ON s.n = e.step JOIN names i ON i.n = e.item JOIN names o ON o.n = e.source;
CREATE VIEW IF NOT EXISTS progress AS
    SELECT s.name AS step, i.name AS item_id, g.name AS settings, p.outcome, p.reason, p.detail, {label} AS label,
           p.n_outputs, p.llm_requests, p.cache_hits, p.prompt_tokens, p.completion_tokens, p.seconds,
           p.done_at, p.cache_keys
    FROM progress_rows p JOIN names s ON s.n = p.step JOIN names i ON i.n = p.item JOIN names g ON g.n = p.settings
    LEFT JOIN texts l ON l.n = p.label;
CREATE TABLE IF NOT EXISTS llm_rows (
    n INTEGER PRIMARY KEY,
    k INTEGER NOT NULL,
    tail BLOB NOT NULL,
    model TEXT NOT NULL,
    request BLOB NOT NULL,
    response BLOB NOT NULL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_rows_k ON llm_rows(k);
CREATE VIEW IF NOT EXISTS llm_cache AS
    SELECT {key_sql} AS key, model, request, response, prompt_tokens, completion_tokens, created_at FROM llm_rows;
CREATE TABLE IF NOT EXISTS meta_dicts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS text_dicts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS llm_cache_dicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    opening BLOB NOT NULL UNIQUE,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT,
    message TEXT
);
CREATE TABLE IF NOT EXISTS reviews (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    version_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'edit')),
    reason TEXT,
    edited_text TEXT,
    new_version_id TEXT,
    scores TEXT,
    source TEXT NOT NULL DEFAULT 'web',
    external_id TEXT,
    seconds REAL,
    created_at REAL NOT NULL,
    picked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reviews_item ON reviews(item_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS reviews_external ON reviews(external_id) WHERE external_id IS NOT NULL;
""".replace("{key_sql}", KEY_SQL).replace("{label}", label_sql(lambda column: column))
# The views give texts in their stored form (as `records` gives meta), so a plain sqlite3 connection reads them.


RUN_PAGE_CACHE_MB = 64
"""A run's page cache: at 20,000 prompts it halves the system time of a step's store reads (pread of pages the
OS has cached) and cuts a step's CPU by 4-12% (answer_retrieve redone on a kept 20,000 project: 27.5-28.4 -> 24.5-24.6 CPU-s);
the commands that read once (status, exports) keep SQLite's default and their flat memory."""
RUN_WAL_PAGES = 16384
"""How many pages a run's write-ahead log holds before SQLite copies them back into the store (its default is
1,000, 4 MB; this is 64 MB, as much as the run's page cache). A step's commit dirties pages all over the
indexes whose keys come in no order (names, texts' hashes, the LLM cache's keys, progress by item), more of
them the larger the store, and each copy-back writes every page the log holds once: a longer log copies a
page rewritten by many commits once. A 20,000-prompt run's writes replayed (bench/commit_replay.py `compare`,
best of three rounds each): 46.9 CPU-s of commits with 1,000 pages, 37.0 with 16,384 (0.79x), the same rows."""


class StoreConnection(sqlite3.Connection):
    """A connection that remembers the numbers of the names it found, and of the texts it read (store/interning.py)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.names = NameNumbers()
        self.texts_seen = TextNumbers()


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False, factory=StoreConnection)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


PARENT_IDS = """(SELECT '[' || COALESCE(group_concat(json_quote(p.name), ', '), '') || ']'
                 FROM json_each(r.parents) j CROSS JOIN names p ON p.n = j.value)"""
"""The JSON list of a record's parent ids, from `record_rows r` (whose `parents` lists their numbers; the
CROSS JOIN keeps the list's order)."""
RECORD_COLUMNS = f"""i.name AS id, r.kind, r.step, text_of(t.text) AS text, {PARENT_IDS} AS parent_ids, meta_text(r.meta) AS meta, r.origin, r.status,
                    r.reason"""
RECORD_JOINS = "JOIN names i ON i.n = r.n JOIN texts t ON t.n = r.text"
"""A record's columns (as `row_to_record` reads them) from `record_rows r`, and the joins they need."""


WATCHED_TABLES = ("record_rows", "texts", "emit_rows", "progress_rows", "reviews")
"""The tables whose every change moves `store_state.generation` on (what `sftgen status` shows comes from
them; the LLM cache and the runs do not count)."""

INSERTS_COUNTED_BY_WRITERS = ("record_rows", "texts", "emit_rows", "progress_rows")
"""Tables the store's writers insert into many rows at a time: the writer moves the counter itself, once per
batch (`count_change`: Store.commit_batch, Records.put), instead of a trigger per row (about a fifth of a
batch's write). Their updates and deletes, from any program, move it by trigger."""


def count_change(conn: sqlite3.Connection) -> None:
    """Move the write counter on, inside the caller's transaction."""
    conn.execute("UPDATE store_state SET generation = generation + 1")


def watch_changes(conn: sqlite3.Connection) -> None:
    """The write counter: a trigger per watched table and change bumps the one row of `store_state`, whoever
    writes (any connection, any code path), but for the inserts the store's writers count themselves
    (`INSERTS_COUNTED_BY_WRITERS`). Made after the migrations, which rebuild the older tables."""
    conn.execute("CREATE TABLE IF NOT EXISTS store_state "
                 "(id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL)")
    if conn.execute("SELECT 1 FROM store_state").fetchone() is None:  # no write when there is one
        conn.execute("INSERT OR IGNORE INTO store_state (id, generation) VALUES (1, 0)")
    triggers = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for table in WATCHED_TABLES:
        for change in ("INSERT", "UPDATE", "DELETE"):
            name = f"{table}_{change.lower()}_counted"
            if change == "INSERT" and table in INSERTS_COUNTED_BY_WRITERS:
                if name in triggers:  # a store made by an older sftgen
                    conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            elif name not in triggers:
                conn.execute(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {change} ON {table} "
                             "BEGIN UPDATE store_state SET generation = generation + 1; END")


class Database:
    """One connection to the store's file, with the schema in place."""

    def __init__(self, path: Path):
        self.path = path
        self.disk_full: DiskFull | None = None
        """Set by the first write that failed for want of space: the reply to a request sent after it
        could not be stored, so LLM cache reads refuse (no request is sent)."""
        self.on_disk_full: Callable[[DiskFull], None] | None = None
        """Told at once (the runner stops the LLM client with it: requests waiting for a slot are not sent)."""
        try:
            self.conn = connect(path)
            self.metas = MetaCodec(self.conn)
            self.texts = TextCodec(self.conn)
            migrate(self.conn, SCHEMA)
            watch_changes(self.conn)
        except (sqlite3.Error, OSError) as error:
            if is_disk_full(error, path.parent):
                raise DiskFull(path, "opening the store") from error
            raise

    def transaction(self, what: str = "a write") -> Transaction:
        return Transaction(self, what)

    def tune_for_a_run(self, cache_mb: int = RUN_PAGE_CACHE_MB, wal_pages: int = RUN_WAL_PAGES) -> None:
        """Let this connection keep up to `cache_mb` of the store's pages in memory (SQLite's default is
        2 MB): a run reads the same indexes item after item, and at 20,000 prompts the store is ~170 MB; and
        let its commits leave up to `wal_pages` in the write-ahead log before they are copied back."""
        self.conn.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
        self.conn.execute(f"PRAGMA wal_autocheckpoint={int(wal_pages)}")

    def stopped_by_disk(self, what: str) -> DiskFull:
        """Remember that the disk filled up; LLM cache reads raise the same failure from now on. Writes are
        still tried (a long-lived process such as the review server goes on once space is freed)."""
        self.disk_full = DiskFull(self.path, what)
        if self.on_disk_full is not None:
            self.on_disk_full(self.disk_full)
        return self.disk_full

    def generation(self) -> int:
        """Moves on with every change to the records, emits, progress or reviews, from any connection: the
        same number means the same content (`sftgen status` reuses what it showed at that number)."""
        return self.conn.execute("SELECT generation FROM store_state").fetchone()[0]

    def data_version(self) -> int:
        """Changes when another connection commits (SQLite's PRAGMA data_version)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        self.conn.close()


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error; nested use joins the outer transaction. A write or
    commit that fails for want of space becomes the store's DiskFull."""

    def __init__(self, db: Database, what: str):
        self.db = db
        self.conn = db.conn
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
                if is_disk_full(error, self.db.path.parent):
                    raise self.db.stopped_by_disk(self.what) from error
                raise
            if (numbers := getattr(self.conn, "names", None)) is not None:
                numbers.committed_now()
            return
        self.roll_back()
        if exc is not None and not isinstance(exc, DiskFull) and is_disk_full(exc, self.db.path.parent):
            raise self.db.stopped_by_disk(self.what) from exc

    def roll_back(self) -> None:
        if (numbers := getattr(self.conn, "names", None)) is not None:
            numbers.rolled_back()
        if self.conn.in_transaction:  # SQLite rolls back by itself after some errors, SQLITE_FULL among them
            self.conn.execute("ROLLBACK")
        self.db.metas.forget()
        self.db.texts.forget()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a store's file (SQLite's backup API: safe while another process writes), made
    without writing to the source."""
    original, copy = sqlite3.connect(source), sqlite3.connect(target)
    with copy:
        original.backup(copy)
    original.close()
    copy.close()


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


def marks(values: Sequence[object]) -> str:
    """`?,?,?`: one placeholder per value, for `IN (...)`."""
    return ",".join("?" * len(values))
