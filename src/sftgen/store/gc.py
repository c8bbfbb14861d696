"""What `sftgen gc` may drop from a store, and dropping it.

- LLM cache rows no step result names: every progress row lists the cache rows its replies are in
  (`progress.cache_keys`), and records list theirs in `meta.llm_cache_keys`. A row none of them names is a
  reply to work that was redone or withdrawn since. Rows written since the start of a run that did not
  finish are kept whatever names them: an item in flight when a run stopped has its replies there, and
  the resume finds them. A store with progress rows from before the keys were kept keeps every row.
- The answer half's records (queries, pages, passages, answers) that no step passes on any more (their
  prompt was withdrawn), that no record that stays needs (as a parent, as `passage_ids` or `document_id`)
  and no review names; and the texts no record that stays shares.

With `--apply`, the metas, texts and LLM cache rows stored in an older format (JSON text, plain text, zlib)
are compressed as today's are (store/meta_codec.py, store/text_codec.py, store/llm_cache.py), before the file
is compacted.

What an unchanged run, `status`, the exports and the review need stays: they read the step results and
the records passed on. Work that comes back after it was withdrawn (a rejected prompt accepted again) is
asked of the LLM again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sftgen.store.cache_keys import key_of, key_parts
from sftgen.store.db import DONE_STEPS, Database, marks
from sftgen.store.interning import intern_text, texts_seen
from sftgen.store.progress import text_heads
from sftgen.store.llm_cache import LLMCache

KINDS = ("query", "document", "passage", "answer")
"""The records gc may drop: the answer half's, once withdrawn (prompts, chunks and documents read from
the project's folder stay, live or not)."""


@dataclass
class Garbage:
    cache_keys: list[str] = field(default_factory=list)
    cache_bytes: int = 0
    record_ids: list[str] = field(default_factory=list)
    record_bytes: int = 0
    cache_note: str = ""
    """Why cache rows were kept although nothing names them (empty when none were)."""


@dataclass
class Collected:
    garbage: Garbage
    applied: bool
    file_bytes_before: int
    file_bytes_after: int
    reencoded: int = 0
    """Metas, texts and LLM cache rows an older sftgen stored uncompressed or with zlib, compressed now."""

    @property
    def freed_bytes(self) -> int:
        return self.file_bytes_before - self.file_bytes_after


def store_files_bytes(path: Path) -> int:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def find_garbage(db: Database) -> Garbage:
    garbage = Garbage()
    conn = db.conn
    garbage.cache_keys, garbage.cache_bytes, garbage.cache_note = unneeded_cache_rows(db)
    candidates = {row[0] for row in conn.execute(
        f"""SELECT i.name FROM record_rows r JOIN names i ON i.n = r.n WHERE r.kind IN ({marks(KINDS)})
            AND NOT EXISTS (SELECT 1 FROM emit_rows e WHERE e.item = r.n AND e.active = 1)
            AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.item_id = i.name OR v.version_id = i.name
                            OR v.new_version_id = i.name)""", KINDS)}
    if candidates:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS gc_candidates (id TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM gc_candidates")
        conn.executemany("INSERT INTO gc_candidates VALUES (?)", ((c,) for c in candidates))
        needed_by: dict[str, set[str]] = {}  # candidate -> the records that need it
        for child, needed in conn.execute(
            """WITH r AS (SELECT i.name AS id, r.parents, meta_sql(r.meta) AS meta FROM record_rows r JOIN names i ON i.n = r.n)
               SELECT r.id, p.name FROM r, json_each(r.parents) j JOIN names p ON p.n = j.value
                     WHERE p.name IN gc_candidates
               UNION SELECT r.id, p.value FROM r, json_each(r.meta, '$.passage_ids') p
                     WHERE json_type(r.meta, '$.passage_ids') = 'array' AND p.value IN gc_candidates
               UNION SELECT r.id, json_extract(r.meta, '$.document_id') FROM r
                     WHERE json_extract(r.meta, '$.document_id') IN gc_candidates"""):
            needed_by.setdefault(needed, set()).add(child)
        conn.execute("DROP TABLE gc_candidates")
        changed = True
        while changed:  # a candidate needed by a record that stays, stays
            stays = {c for c in candidates if any(child not in candidates for child in needed_by.get(c, ()))}
            changed = bool(stays)
            candidates -= stays
        garbage.record_ids = sorted(candidates)
        garbage.record_bytes = records_bytes(db, garbage.record_ids)
    return garbage


def keep_labels(db: Database, numbers: str, params: list[str]) -> None:
    """The progress labels read from these records' texts (store/db.py LABEL), stored as texts of their own
    before the records go."""
    rows = db.conn.execute(f"WITH RECURSIVE {DONE_STEPS} SELECT step, item, -label FROM progress_rows "
                           f"WHERE step IN (SELECT step FROM done_steps) AND item IN ({numbers}) AND label < 0",
                           params).fetchall()
    if not rows:
        return
    heads = text_heads(db.conn, [item for _, item, _ in rows], max(length for _, _, length in rows))
    for step, item, length in rows:
        if item in heads:
            db.conn.execute("UPDATE progress_rows SET label=? WHERE step=? AND item=?",
                            (intern_text(db.conn, heads[item][:length]), step, item))


def records_bytes(db: Database, record_ids: list[str]) -> int:
    """What dropping these records frees: their meta and parents, and the texts no other record shares."""
    conn = db.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS gc_records (n INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM gc_records")
    for start in range(0, len(record_ids), 500):
        part = record_ids[start:start + 500]
        conn.execute(f"INSERT OR IGNORE INTO gc_records SELECT n FROM names WHERE name IN ({marks(part)})", part)
    size = conn.execute(
        """SELECT COALESCE(SUM(length(meta) + length(parents)), 0) FROM record_rows
           WHERE n IN (SELECT n FROM gc_records)""").fetchone()[0]
    size += conn.execute(
        """SELECT COALESCE(SUM(length(t.text)), 0) FROM texts t
           WHERE t.n IN (SELECT r.text FROM record_rows r WHERE r.n IN (SELECT n FROM gc_records))
             AND t.n NOT IN (SELECT r.text FROM record_rows r WHERE r.n NOT IN (SELECT n FROM gc_records))
             AND t.n NOT IN (SELECT label FROM progress_rows WHERE label IS NOT NULL)"""
    ).fetchone()[0]
    conn.execute("DROP TABLE gc_records")
    return size


def unneeded_cache_rows(db: Database) -> tuple[list[str], int, str]:
    conn = db.conn
    untracked = conn.execute(
        "SELECT COUNT(*) FROM progress_rows WHERE cache_keys IS NULL AND (llm_requests > 0 OR cache_hits > 0)").fetchone()[0]
    if untracked:
        return [], 0, (f"{untracked:,} step results predate the cache keys they used: every LLM cache row is kept "
                       "(a run that redoes them records their keys)")
    needed: set[str] = set()
    for (keys,) in conn.execute("SELECT cache_keys FROM progress_rows WHERE cache_keys != ''"):
        needed.update(keys.split())
    needed.update(row[0] for row in conn.execute(
        """SELECT k.value FROM (SELECT meta_sql(meta) AS meta FROM record_rows r
                                 WHERE EXISTS (SELECT 1 FROM emit_rows e WHERE e.item = r.n AND e.active = 1)) r,
                                json_each(r.meta, '$.llm_cache_keys') k
           WHERE json_type(r.meta, '$.llm_cache_keys') = 'array'"""))
    latest = conn.execute("SELECT started_at, outcome FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    since = latest[0] if latest is not None and latest[1] != "finished" else float("inf")
    note = "" if since == float("inf") else "the last run did not finish: the replies it stored are kept for its resume"
    keys, size = [], 0
    for k, tail, length, created in conn.execute(
            "SELECT k, tail, length(request) + length(response), created_at FROM llm_rows"):
        key = key_of(k, tail)
        if key not in needed and created < since:
            keys.append(key)
            size += length
    return keys, size, note


def collect(db: Database, apply: bool) -> Collected:
    """Find what no live record needs; with `apply`, delete it and compact the file (VACUUM)."""
    before = store_files_bytes(db.path)
    garbage = find_garbage(db)
    if not apply:
        return Collected(garbage, False, before, before)
    with db.transaction("sftgen gc"):
        db.conn.executemany("DELETE FROM llm_rows WHERE k=? AND tail=?", map(key_parts, garbage.cache_keys))
        for start in range(0, len(garbage.record_ids), 500):
            part = garbage.record_ids[start:start + 500]
            numbers = f"SELECT n FROM names WHERE name IN ({marks(part)})"
            keep_labels(db, numbers, part)
            db.conn.execute(f"DELETE FROM emit_rows WHERE active = 0 AND item IN ({numbers})", part)
            db.conn.execute(f"DELETE FROM record_rows WHERE n IN ({numbers})", part)
        if garbage.record_ids:  # the texts only they had (written back into the cached requests that quote them)
            unused = ("FROM texts WHERE n NOT IN (SELECT text FROM record_rows) "
                      "AND n NOT IN (SELECT label FROM progress_rows WHERE label IS NOT NULL)")
            LLMCache(db).inline_texts({row[0] for row in db.conn.execute(f"SELECT n {unused}")})
            db.conn.execute(f"DELETE {unused}")
            if (seen := texts_seen(db.conn)) is not None:  # a number it held may be given to another text
                seen.forget()
        reencoded = (db.metas.reencode_text_rows() + db.texts.reencode_text_rows()
                     + LLMCache(db).reencode_older_rows())
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.execute("VACUUM")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Collected(garbage, True, before, store_files_bytes(db.path), reencoded)
