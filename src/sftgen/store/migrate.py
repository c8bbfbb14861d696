"""Bringing a store made by an older sftgen up to the current tables when it is opened.

- Columns added since (`progress.cache_keys`, `reviews.picked`) are added.
- Stores from before the ids were interned keep `records`, `emits` and `progress` as tables with the text
  ids in every row and every index (~30 KB per kept prompt). They are copied once into `record_rows`,
  `emit_rows` and `progress_rows` (ids, step names and settings as numbers from `names`, each distinct
  text and label once in `texts`), in their old row order, and the old tables give way to the views of the same
  name, which read the same rows back. One transaction: a crash leaves the old store as it was.
- Stores up to main at a1228df keep `progress_rows` as a rowid table beside its primary key's index, and
  `emit_rows` with AUTOINCREMENT (a write to sqlite_sequence per emit) and indexes that repeat the seq:
  both tables are rebuilt once into today's shapes (`progress_rows` WITHOUT ROWID), rows and seqs as they
  were, with the views that read them. Labels that start their input's text are stored as today's are,
  and the texts only they had go.
- Stores up to main at fe92801 index `progress_rows` by item too: the index is dropped.
- Stores from before the LLM cache keys were numbered keep `llm_cache` as a table keyed by the key string:
  its rows are copied once into `llm_rows` (store/cache_keys.py), as they are stored, and the table gives
  way to the view of that name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sftgen.store.cache_keys import key_parts
from sftgen.store.interning import text_hash

RETIRED_INDEXES = ("progress_rows_item",)
"""Indexes older stores have and today's schema does not (store/db.py says why)."""

ADDED_COLUMNS = {"progress_rows": {"cache_keys": "TEXT"}, "reviews": {"picked": "INTEGER NOT NULL DEFAULT 0"}}
"""Columns newer than a store's tables: added when an older store is opened."""

COPY_TO_NUMBERED = """
INSERT OR IGNORE INTO names (name) SELECT id FROM old_records ORDER BY rowid;
INSERT OR IGNORE INTO names (name) SELECT j.value FROM old_records r, json_each(r.parent_ids) j ORDER BY r.rowid, j.key;
INSERT OR IGNORE INTO names (name) SELECT step FROM old_emits UNION SELECT item_id FROM old_emits
    UNION SELECT source_id FROM old_emits;
INSERT OR IGNORE INTO names (name) SELECT step FROM old_progress UNION SELECT item_id FROM old_progress
    UNION SELECT settings FROM old_progress;
INSERT OR IGNORE INTO texts (hash, text) SELECT text_hash(text), text FROM old_records ORDER BY rowid;
INSERT OR IGNORE INTO texts (hash, text) SELECT text_hash(label), label FROM old_progress WHERE label IS NOT NULL
    ORDER BY rowid;
INSERT INTO record_rows (n, kind, step, text, parents, meta, origin, status, reason, dropped_by, created_at)
    SELECT i.n, r.kind, r.step, t.n,
           (SELECT '[' || COALESCE(group_concat(p.n, ','), '') || ']' FROM json_each(r.parent_ids) j
            CROSS JOIN names p ON p.name = j.value),
           r.meta, r.origin, r.status, r.reason, r.dropped_by, r.created_at
    FROM old_records r JOIN names i ON i.name = r.id JOIN texts t ON t.hash = text_hash(r.text) ORDER BY r.rowid;
INSERT INTO emit_rows (seq, step, item, source, active)
    SELECT e.seq, s.n, i.n, o.n, e.active FROM old_emits e
    JOIN names s ON s.name = e.step JOIN names i ON i.name = e.item_id JOIN names o ON o.name = e.source_id
    ORDER BY e.seq;
INSERT INTO progress_rows (step, item, settings, outcome, reason, detail, label, n_outputs, llm_requests,
                           cache_hits, prompt_tokens, completion_tokens, seconds, done_at, cache_keys)
    SELECT s.n, i.n, g.n, p.outcome, p.reason, p.detail, l.n, p.n_outputs, p.llm_requests, p.cache_hits,
           p.prompt_tokens, p.completion_tokens, p.seconds, p.done_at, {cache_keys}
    FROM old_progress p JOIN names s ON s.name = p.step JOIN names i ON i.name = p.item_id
    JOIN names g ON g.name = p.settings LEFT JOIN texts l ON l.hash = text_hash(p.label) ORDER BY p.rowid;
INSERT INTO sqlite_sequence (name, seq) SELECT 'emit_rows', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'emit_rows');
UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'emits'), 0))
    WHERE name = 'emit_rows';
DELETE FROM sqlite_sequence WHERE name = 'emits';
DROP TABLE old_records;
DROP TABLE old_emits;
DROP TABLE old_progress;
"""


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


@contextmanager
def one_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A migration step's writes, all or none (taken with the write lock: another process may be at the same
    step, so each step checks again inside it)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def number_the_ids(conn: sqlite3.Connection, schema: str) -> None:
    """Copy a store with text ids in its rows into the numbered tables (nothing when it has them already)."""
    if not has_table(conn, "records"):
        return
    conn.create_function("text_hash", 1, lambda text: None if text is None else text_hash(text), deterministic=True)
    with one_transaction(conn):
        if has_table(conn, "records"):  # not done by another process meanwhile
            for table in ("records", "emits", "progress"):
                conn.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
            for index in ("records_kind", "emits_step_active", "emits_step_source", "emits_item", "emits_source",
                          "progress_item"):
                conn.execute(f"DROP INDEX IF EXISTS {index}")
            for statement in split(schema):
                conn.execute(statement)
            cache_keys = "p.cache_keys" if "cache_keys" in columns(conn, "old_progress") else "NULL"
            for statement in split(COPY_TO_NUMBERED.format(cache_keys=cache_keys)):
                conn.execute(statement)


def number_the_cache_keys(conn: sqlite3.Connection) -> None:
    """Copy an `llm_cache` table into `llm_rows` (nothing when it is the view already)."""
    if not has_table(conn, "llm_cache"):
        return
    conn.create_function("key_n", 1, lambda key: key_parts(key)[0], deterministic=True)
    conn.create_function("key_tail", 1, lambda key: key_parts(key)[1], deterministic=True)
    with one_transaction(conn):
        if has_table(conn, "llm_cache"):  # not done by another process meanwhile
            conn.execute("""CREATE TABLE IF NOT EXISTS llm_rows (n INTEGER PRIMARY KEY, k INTEGER NOT NULL,
                            tail BLOB NOT NULL, model TEXT NOT NULL, request BLOB NOT NULL, response BLOB NOT NULL,
                            prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
                            created_at REAL NOT NULL)""")
            conn.execute("""INSERT INTO llm_rows (k, tail, model, request, response, prompt_tokens, completion_tokens,
                                                  created_at)
                            SELECT key_n(key), key_tail(key), model, request, response, prompt_tokens,
                                   completion_tokens, created_at FROM llm_cache ORDER BY rowid""")
            conn.execute("DROP TABLE llm_cache")


def split(script: str) -> list[str]:
    """The statements of a script of ours (no `;` inside a string literal or a trigger)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def add_columns(conn: sqlite3.Connection) -> None:
    for table, added in ADDED_COLUMNS.items():
        present = columns(conn, table)
        for name, kind in added.items():
            if name not in present:
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as error:  # another process added it first
                    if "duplicate column" not in str(error):
                        raise


def table_sql(conn: sqlite3.Connection, name: str) -> str:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return "" if row is None else " ".join(row[0].upper().split())


def has_rowid_rows(conn: sqlite3.Connection) -> bool:
    """Whether `progress_rows` has a rowid or `emit_rows` is AUTOINCREMENT (main's format up to a1228df)."""
    progress, emits = table_sql(conn, "progress_rows"), table_sql(conn, "emit_rows")
    return bool(progress) and "WITHOUT ROWID" not in progress or "AUTOINCREMENT" in emits


PROGRESS_COLUMNS = ("step, item, settings, outcome, reason, detail, label, n_outputs, llm_requests, cache_hits, "
                    "prompt_tokens, completion_tokens, seconds, done_at, cache_keys")


LABELS_AS_HEADS = """SELECT p.step, p.item, p.settings, p.outcome, p.reason, p.detail,
    CASE WHEN length(lt.text) > 0 AND instr(lt.text, char(0)) = 0 AND substr(rt.text, 1, length(lt.text)) = lt.text
         THEN -length(lt.text) ELSE p.label END,
    p.n_outputs, p.llm_requests, p.cache_hits, p.prompt_tokens, p.completion_tokens, p.seconds, p.done_at, p.cache_keys
    FROM old_progress_rows p LEFT JOIN texts lt ON lt.n = p.label LEFT JOIN record_rows r ON r.n = p.item
    LEFT JOIN texts rt ON rt.n = r.text"""
"""The old progress rows, a label that starts its input's text as minus its length (store/db.py LABEL), as
today's writers store it (`rt.text` read as store/db.py `record_text` reads it)."""


def rebuild_rows_without_rowid(conn: sqlite3.Connection, schema: str) -> None:
    """Copy `progress_rows` into a WITHOUT ROWID table and `emit_rows` into one without AUTOINCREMENT, with
    the schema's indexes and views (nothing when they have today's shapes)."""
    if not has_rowid_rows(conn):
        if has_table(conn, "sqlite_sequence") and conn.execute(
                "SELECT 1 FROM sqlite_sequence WHERE name = 'emit_rows'").fetchone() is not None:
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'emit_rows'")  # left by number_the_ids' copy
        return
    with one_transaction(conn):
        if has_rowid_rows(conn):  # not done by another process meanwhile
            conn.execute("DROP VIEW IF EXISTS progress")  # they name the tables rebuilt below
            conn.execute("DROP VIEW IF EXISTS emits")
            for table in ("progress_rows", "emit_rows"):
                conn.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
                for (index,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                             "AND sql IS NOT NULL", (f"old_{table}",)).fetchall():
                    conn.execute(f"DROP INDEX {index}")
            for statement in split(schema):  # the tables now, their indexes once they are filled
                if statement.startswith(("CREATE TABLE IF NOT EXISTS progress_rows ",
                                         "CREATE TABLE IF NOT EXISTS emit_rows ")):
                    conn.execute(statement)
            conn.execute(f"INSERT INTO progress_rows ({PROGRESS_COLUMNS}) {LABELS_AS_HEADS} ORDER BY p.step, p.item")
            conn.execute("INSERT INTO emit_rows (seq, step, item, source, active) "
                         "SELECT seq, step, item, source, active FROM old_emit_rows ORDER BY seq")
            conn.execute("""DELETE FROM texts WHERE n IN (SELECT label FROM old_progress_rows WHERE label > 0)
                            AND n NOT IN (SELECT text FROM record_rows)
                            AND n NOT IN (SELECT label FROM progress_rows WHERE label > 0)""")
            conn.execute("DROP TABLE old_progress_rows")
            conn.execute("DROP TABLE old_emit_rows")
            if has_table(conn, "sqlite_sequence"):
                conn.execute("DELETE FROM sqlite_sequence WHERE name = 'emit_rows'")
            for statement in split(schema):
                conn.execute(statement)


def migrate(conn: sqlite3.Connection, schema: str) -> None:
    number_the_ids(conn, schema)
    number_the_cache_keys(conn)
    conn.executescript(schema)
    add_columns(conn)
    rebuild_rows_without_rowid(conn, schema)
    for index in RETIRED_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {index}")
