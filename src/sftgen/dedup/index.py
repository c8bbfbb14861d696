"""The dedup index: what dedup keeps about the prompts it kept, so that a run hashes and embeds only its
new prompts and reads of the kept ones only what it compares.

One sqlite file, `.sftgen/dedup/anchors.db`, owned by the dedup step: for each kept prompt (by id) a hash
of its text, its normalised text (exact dedup), its content words, its MinHash values and its embedding
(float16 after the byte `HALF`; rows an older sftgen wrote as float32 are read rounded to float16, as dedup
compares them, and `sftgen gc --apply` rewrites them: `halve_vectors`),
and the document frequency of every content word over those prompts (kept equal to the rows in the same
transaction), which is what the content check's IDF needs of them. The rows are checked against the
prompts the step passes on now (`anchor_features`): a row whose prompt was withdrawn, redone or changed is
removed (its words leave the counts), a kept prompt with no row (an index made before, deleted, or cut
short by a crash before the results were committed) is computed and added. The features of a text depend
on the text alone, so what the index gives is what a run from scratch would compute, and so are the
decisions (tests/test_dedup_index.py checks this over random batches).

The file names its `fingerprint` (index format, shingle size, num_perm, MinHash seed, embedder): when that
changes every row is dropped. Thresholds are not in it: they do not change what is stored. A file sqlite
cannot read is removed and built again from the kept prompts.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sftgen.dedup.corpus import MINHASH_SEED, AnchorFeatures, anchor_features
from sftgen.recipe.dedup_settings import Dedup
from sftgen.records import stable_hash

log = logging.getLogger("sftgen.dedup")

INDEX_FORMAT = 1
FILE_NAME = "anchors.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (
    id TEXT PRIMARY KEY, text_hash BLOB NOT NULL, key TEXT NOT NULL, words TEXT NOT NULL,
    signature BLOB, vector BLOB);
CREATE TABLE IF NOT EXISTS frequency (word TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


def fingerprint(settings: Dedup, embedder_name: str | None) -> str:
    return stable_hash(INDEX_FORMAT, settings.shingle_words, settings.num_perm, MINHASH_SEED, embedder_name)


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class DedupIndex:
    def __init__(self, folder: Path, settings: Dedup, embedder=None):
        self.path = Path(folder) / FILE_NAME
        self.settings = settings
        self.embedder = embedder
        self.fingerprint = fingerprint(settings, getattr(embedder, "name", None))
        try:
            self.db = self.connect()
        except sqlite3.DatabaseError as exc:
            log.warning("dedup index %s unreadable (%s): building it again from the kept prompts", self.path, exc)
            self.path.unlink(missing_ok=True)
            self.db = self.connect()

    def connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        db.executescript(SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
        if row is None or row[0] != self.fingerprint:
            with db:
                db.execute("DELETE FROM anchors")
                db.execute("DELETE FROM frequency")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (self.fingerprint,))
        return db

    def close(self) -> None:
        self.db.close()

    # ---- the prompts kept before ------------------------------------------------------------------

    def anchor_features(self, ids: Sequence[str], texts: Sequence[str]) -> AnchorFeatures:
        """The features of these kept prompts (in this order), from the rows where the index has them; the
        rows are brought in line with them first."""
        wanted = {anchor_id: text_hash(text) for anchor_id, text in zip(ids, texts)}
        near, semantic = "near" in self.settings.methods, "semantic" in self.settings.methods
        rows = {row[0]: row for row in self.db.execute(
            "SELECT id, text_hash, key, words, signature, vector FROM anchors")}
        stale = [anchor_id for anchor_id, row in rows.items() if wanted.get(anchor_id) != row[1]]
        for anchor_id in stale:
            del rows[anchor_id]
        incomplete = [i for i, anchor_id in enumerate(ids) if anchor_id in rows
                      and ((near and rows[anchor_id][4] is None) or (semantic and rows[anchor_id][5] is None))]
        missing = [i for i, anchor_id in enumerate(ids) if anchor_id not in rows]
        with self.db:
            self.remove(stale)
            computed = self.compute_into(rows, ids, texts, missing + incomplete)
            self.insert([computed[i] for i in missing], count_words=True)
            self.insert([computed[i] for i in incomplete], count_words=False)
        if stale or missing or incomplete:
            log.info("dedup index: %d rows removed, %d added, %d completed; %d kept prompts", len(stale),
                     len(missing), len(incomplete), len(ids))
        return self.assemble(rows, ids)

    def compute_into(self, rows: dict, ids: Sequence[str], texts: Sequence[str], positions: list[int]) -> dict:
        """Compute the rows of these anchors, put them in `rows`; returns them by position."""
        if not positions:
            return {}
        features = anchor_features([texts[i] for i in positions], self.settings, self.embedder)
        computed = {}
        for row, i in enumerate(positions):
            signature = None
            if features.signatures is not None:
                signature = features.signatures[row] if features.has_signature[row] else np.zeros(0, np.uint64)
            vector = features.vectors[row] if features.vectors is not None else None
            entry = row_of(ids[i], texts[i], features.keys[row], features.words[row], signature, vector)
            rows[ids[i]] = entry
            computed[i] = entry
        return computed

    def assemble(self, rows: dict, ids: Sequence[str]) -> AnchorFeatures:
        chosen = [rows[anchor_id] for anchor_id in ids]
        frequency = Counter(dict(self.db.execute("SELECT word, n FROM frequency")))
        features = AnchorFeatures([row[2] for row in chosen], WordLists(chosen), frequency)
        if "near" in self.settings.methods:
            perms = self.settings.num_perm
            features.has_signature = np.array([len(row[4]) > 0 for row in chosen], dtype=bool)
            blank = bytes(4 * perms)
            joined = b"".join(row[4] if row[4] else blank for row in chosen)
            features.signatures = np.frombuffer(joined, dtype=np.uint32).reshape(len(chosen), perms).astype(np.uint64)
        if "semantic" in self.settings.methods:
            dim = self.embedder.dim
            if all(len(row[5]) == 2 * dim + 1 for row in chosen):
                joined = b"".join(row[5][1:] for row in chosen)
                features.vectors = np.frombuffer(joined, dtype=np.float16).reshape(len(chosen), dim).astype(np.float32)
            else:  # some rows from an index written before its vectors were float16
                features.vectors = np.stack([vector_of(row[5], dim) for row in chosen]) if chosen else (
                    np.zeros((0, dim), dtype=np.float32))
        return features

    # ---- writing -------------------------------------------------------------------------------

    def add(self, entries: list[tuple]) -> None:
        """Rows (`row_of`) for prompts kept in this run."""
        with self.db:
            self.remove([entry[0] for entry in entries])
            self.insert(entries, count_words=True)

    def remove(self, ids: list[str]) -> None:
        if not ids:
            return
        gone: Counter = Counter()
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            for (words,) in self.db.execute(f"SELECT words FROM anchors WHERE id IN ({marks})", chunk):
                gone.update(words.split())
            self.db.execute(f"DELETE FROM anchors WHERE id IN ({marks})", chunk)
        self.db.executemany("UPDATE frequency SET n = n - ? WHERE word = ?", [(n, w) for w, n in gone.items()])
        self.db.execute("DELETE FROM frequency WHERE n <= 0")

    def insert(self, entries: list[tuple], count_words: bool) -> None:
        self.db.executemany("INSERT OR REPLACE INTO anchors VALUES (?, ?, ?, ?, ?, ?)", entries)
        if count_words:
            added = Counter(word for entry in entries for word in entry[3].split())
            self.db.executemany("INSERT INTO frequency VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET n = n + excluded.n",
                                list(added.items()))


class WordLists:
    """The anchors' content words, split from the stored rows on first use (only compared texts need them)."""

    def __init__(self, rows: list[tuple]):
        self.rows = rows
        self.split: dict[int, tuple[str, ...]] = {}

    def __getitem__(self, index: int) -> tuple[str, ...]:
        words = self.split.get(index)
        if words is None:
            text = self.rows[index][3]
            words = self.split[index] = tuple(text.split()) if text else ()
        return words

    def __len__(self) -> int:
        return len(self.rows)


def row_of(item_id: str, text: str, key: str, words: Sequence[str], signature: np.ndarray | None,
           vector: np.ndarray | None) -> tuple:
    """A row of the anchors table. `signature`: None when not computed, empty for a text with no shingles."""
    return (item_id, text_hash(text), key, " ".join(words),
            None if signature is None else signature.astype(np.uint32).tobytes(),
            None if vector is None else half(vector))


HALF = b"h"
"""First byte of a float16 embedding (its odd length tells it from an older sftgen's float32 one)."""


def half(vector: np.ndarray) -> bytes:
    return HALF + np.asarray(vector, dtype=np.float32).astype(np.float16).tobytes()


def vector_of(stored: bytes, dim: int) -> np.ndarray:
    """A row's embedding as float32 of float16 values (stored as float16, or as float32 by an older sftgen)."""
    if len(stored) % 2:
        return np.frombuffer(stored[1:], dtype=np.float16).astype(np.float32)
    return np.frombuffer(stored, dtype=np.float32).astype(np.float16).astype(np.float32)


def halve_vectors(folder: Path) -> int:
    """`sftgen gc --apply`: the float32 embeddings an older sftgen wrote, rewritten as float16 (what they are
    read as), and the file compacted; how many were rewritten. Nothing when there is no index."""
    path = Path(folder) / FILE_NAME
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT id, vector FROM anchors WHERE vector IS NOT NULL AND length(vector) % 2 = 0").fetchall()
        if rows:
            with db:
                db.executemany("UPDATE anchors SET vector=? WHERE id=?",
                               [(half(np.frombuffer(vector, dtype=np.float32)), anchor_id) for anchor_id, vector in rows])
            db.execute("VACUUM")
        return len(rows)
    finally:
        db.close()


def chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]
