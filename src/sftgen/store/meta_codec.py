"""How a record's meta is stored: zstd-compressed JSON, against a dictionary per record kind.

Metas of one kind share their keys and much of their values (a passage's url, title and scores), so once
`TRAIN_AFTER` metas of a kind exist a zstd dictionary is trained on them and kept in `meta_dicts` (one per
kind, never changed); from then on that kind's metas are stored as `MARK` + the dictionary's id + a zstd
frame (a BLOB). Metas written before their kind has a dictionary, and every meta of a store made before
this, stay the JSON text (TEXT) they are, and are read as they are.

Every read goes through the connection's SQL functions (registered on each connection the store opens):
- `meta_text(meta)`: the meta's JSON exactly as Python wrote it (what `json.loads` reads back);
- `meta_sql(meta)`: JSON SQLite's JSON functions accept, for `json_extract` and the like: the same, except
  that the non-finite numbers Python writes (`Infinity`, `NaN`, which SQLite refuses) become 9e999 (which
  SQLite reads as infinity) and null.
A dictionary made inside a transaction that rolls back is forgotten with it (`forget`)."""

from __future__ import annotations

import json
import math
import sqlite3
import struct
import threading
from typing import Any

import zstandard

MARK = b"\x01"
"""First byte of a compressed meta (then the dictionary's id, 2 bytes, then the zstd frame)."""
LEVEL = 3
TRAIN_AFTER = 256
"""Metas of a kind stored as text before its dictionary is trained on them."""
DICTIONARY_BYTES = 16 * 1024
NON_FINITE = ("Infinity", "NaN")


META_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
"""What `json.dumps(meta, ensure_ascii=False, default=str)` builds at every call, built once."""


def meta_json(meta: dict[str, Any]) -> str:
    return META_ENCODER.encode(meta)


INFINITY = "\x00sftgen-infinity\x00"
"""Stands for an infinity while the JSON is written (then replaced by a number SQLite reads as one)."""


def finite(value: Any) -> Any:
    """The value with infinities as INFINITY (or its negative, `-` prefixed) and NaN as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (INFINITY if value > 0 else "-" + INFINITY)
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def sql_json(text: str) -> str:
    """JSON text SQLite parses: Python's `Infinity` / `NaN` numbers rewritten (a text merely containing the
    words is decoded and written again, to the same value)."""
    if not any(word in text for word in NON_FINITE):
        return text
    written = json.dumps(finite(json.loads(text)), ensure_ascii=False)
    token = json.dumps(INFINITY)
    return written.replace(json.dumps("-" + INFINITY), "-9e999").replace(token, "9e999")


class MetaCodec:
    """The dictionaries of one connection, and the compressors made from them."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.lock = threading.Lock()
        self.by_kind: dict[str, int | None] = {}
        """kind -> its dictionary's id (None: known to have none yet)."""
        self.samples: dict[str, list[bytes]] = {}
        self.compressors: dict[int, zstandard.ZstdCompressor] = {}
        self.decompressors: dict[int, zstandard.ZstdDecompressor] = {}
        conn.create_function("meta_text", 1, self.text, deterministic=True)
        conn.create_function("meta_sql", 1, self.sql, deterministic=True)

    # ---- writing (inside the caller's transaction) -----------------------------------------------

    def stored(self, kind: str, meta: dict[str, Any]) -> str | bytes:
        """The stored form of a record's meta."""
        return self.stored_text(kind, meta_json(meta))

    def stored_text(self, kind: str, text: str) -> str | bytes:
        dictionary_id = self.dictionary_of(kind, text)
        if dictionary_id is None:
            return text
        with self.lock:
            frame = self.compressors[dictionary_id].compress(text.encode("utf-8", "surrogatepass"))
        return MARK + struct.pack(">H", dictionary_id) + frame

    def dictionary_of(self, kind: str, text: str) -> int | None:
        """The id of this kind's dictionary, trained now when this meta makes enough of them."""
        if kind not in self.by_kind:
            row = self.conn.execute("SELECT id, data FROM meta_dicts WHERE kind=?", (kind,)).fetchone()
            self.by_kind[kind] = None if row is None else self.load(row[0], row[1])
        if self.by_kind[kind] is not None:
            return self.by_kind[kind]
        samples = self.samples.get(kind)
        if samples is None:
            samples = self.samples[kind] = [row[0].encode("utf-8", "surrogatepass") for row in self.conn.execute(
                "SELECT meta FROM record_rows WHERE kind=? AND typeof(meta)='text' ORDER BY n LIMIT ?",
                (kind, TRAIN_AFTER))]
        samples.append(text.encode("utf-8", "surrogatepass"))
        if len(samples) < TRAIN_AFTER:
            return None
        self.conn.execute("INSERT OR IGNORE INTO meta_dicts (kind, data) VALUES (?, ?)", (kind, trained(samples)))
        row = self.conn.execute("SELECT id, data FROM meta_dicts WHERE kind=?", (kind,)).fetchone()  # another's, if first
        self.by_kind[kind] = self.load(row[0], row[1])
        del self.samples[kind]
        return self.by_kind[kind]

    def reencode_text_rows(self) -> int:
        """Compress the metas stored as text (by an older sftgen, or before their kind had a dictionary),
        training the dictionaries that enough of them now make; how many were rewritten (`sftgen gc --apply`)."""
        rewritten = 0
        kinds = [row[0] for row in self.conn.execute("SELECT DISTINCT kind FROM record_rows")]
        for kind in kinds:
            rows = self.conn.execute("SELECT n, meta FROM record_rows WHERE kind=? AND typeof(meta)='text' ORDER BY n",
                                     (kind,)).fetchall()
            for n, text in rows:
                stored = self.stored_text(kind, text)
                if not isinstance(stored, str):
                    self.conn.execute("UPDATE record_rows SET meta=? WHERE n=?", (stored, n))
                    rewritten += 1
        return rewritten

    def load(self, dictionary_id: int, data: bytes) -> int:
        dictionary = zstandard.ZstdCompressionDict(data)
        with self.lock:
            self.compressors[dictionary_id] = zstandard.ZstdCompressor(
                level=LEVEL, dict_data=dictionary, write_checksum=False, write_dict_id=False, write_content_size=True)
            self.decompressors[dictionary_id] = zstandard.ZstdDecompressor(dict_data=dictionary)
        return dictionary_id

    def forget(self) -> None:
        """After a rollback: a dictionary made in it is gone, and its id may come again with other bytes (the
        others are read again when needed)."""
        with self.lock:
            self.by_kind.clear()
            self.samples.clear()
            self.compressors.clear()
            self.decompressors.clear()

    # ---- reading -------------------------------------------------------------------------------

    def text(self, stored: str | bytes | None) -> str | None:
        """The JSON text of a stored meta."""
        if stored is None or isinstance(stored, str):
            return stored
        if stored[:1] != MARK:
            return stored.decode("utf-8", "surrogatepass")
        (dictionary_id,) = struct.unpack(">H", stored[1:3])
        if dictionary_id not in self.decompressors:
            row = self.conn.execute("SELECT data FROM meta_dicts WHERE id=?", (dictionary_id,)).fetchone()
            if row is None:
                raise KeyError(f"meta dictionary {dictionary_id} is missing from the store")
            self.load(dictionary_id, row[0])
        with self.lock:
            return self.decompressors[dictionary_id].decompress(stored[3:]).decode("utf-8", "surrogatepass")

    def sql(self, stored: str | bytes | None) -> str | None:
        text = self.text(stored)
        return None if text is None else sql_json(text)

    def decoded(self, stored: str | bytes | None) -> dict[str, Any]:
        text = self.text(stored)
        return json.loads(text) if text else {}


def trained(samples: list[bytes]) -> bytes:
    """A dictionary trained on these metas; their raw content where training cannot (too alike, too few)."""
    try:
        return zstandard.train_dictionary(DICTIONARY_BYTES, samples, k=1024, d=8, f=16, level=LEVEL).as_bytes()
    except zstandard.ZstdError:
        return zstandard.ZstdCompressionDict(b"".join(samples)[-DICTIONARY_BYTES:],
                                             dict_type=zstandard.DICT_TYPE_RAWCONTENT).as_bytes()
