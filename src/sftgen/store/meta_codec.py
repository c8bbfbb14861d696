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
from typing import Any

from sftgen.store.zstd_dictionaries import TRAIN_AFTER, KindDictionaries

MARK = b"\x01"
"""First byte of a compressed meta (then the dictionary's id, 2 bytes, then the zstd frame)."""
NON_FINITE = ("Infinity", "NaN")


META_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
"""What `json.dumps(meta, ensure_ascii=False, default=str)` builds at every call, built once."""

ACYCLIC_ENCODER = None if json.encoder.c_make_encoder is None else json.encoder.c_make_encoder(
    None, str, json.encoder.encode_basestring, None, ": ", ", ", False, False, True)
"""META_ENCODER's C encoder, made once and without its check for cycles (a dict of the ids of the
containers it is inside, kept at every container: a third of a meta's encoding)."""


def meta_json(meta: dict[str, Any]) -> str:
    if ACYCLIC_ENCODER is None or not isinstance(meta, dict):
        return META_ENCODER.encode(meta)
    try:
        return "".join(ACYCLIC_ENCODER(meta, 0))
    except RecursionError:  # a meta inside itself: META_ENCODER says so (ValueError), as before
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
    """The meta dictionaries of one connection (`meta_dicts`, one per kind: store/zstd_dictionaries.py)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.dictionaries = KindDictionaries(conn, "meta_dicts", self.samples_of)
        conn.create_function("meta_text", 1, self.text, deterministic=True)
        conn.create_function("meta_sql", 1, self.sql, deterministic=True)

    def samples_of(self, kind: str) -> list[bytes]:
        return [row[0].encode("utf-8", "surrogatepass") for row in self.conn.execute(
            "SELECT meta FROM record_rows WHERE kind=? AND typeof(meta)='text' ORDER BY n LIMIT ?", (kind, TRAIN_AFTER))]

    # ---- writing (inside the caller's transaction) -----------------------------------------------

    def stored(self, kind: str, meta: dict[str, Any]) -> str | bytes:
        """The stored form of a record's meta."""
        return self.stored_text(kind, meta_json(meta))

    def stored_text(self, kind: str, text: str) -> str | bytes:
        body = text.encode("utf-8", "surrogatepass")
        dictionary_id = self.dictionaries.dictionary_of(kind, body)
        if dictionary_id is None:
            return text
        return MARK + struct.pack(">H", dictionary_id) + self.dictionaries.compress(dictionary_id, body)

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

    def forget(self) -> None:
        """After a rollback (store/zstd_dictionaries.py)."""
        self.dictionaries.forget()

    # ---- reading -------------------------------------------------------------------------------

    def text(self, stored: str | bytes | None) -> str | None:
        """The JSON text of a stored meta."""
        if stored is None or isinstance(stored, str):
            return stored
        if stored[:1] != MARK:
            return stored.decode("utf-8", "surrogatepass")
        (dictionary_id,) = struct.unpack(">H", stored[1:3])
        return self.dictionaries.decompress(dictionary_id, stored[3:]).decode("utf-8", "surrogatepass")

    def sql(self, stored: str | bytes | None) -> str | None:
        text = self.text(stored)
        return None if text is None else sql_json(text)

    def decoded(self, stored: str | bytes | None) -> dict[str, Any]:
        text = self.text(stored)
        return json.loads(text) if text else {}

