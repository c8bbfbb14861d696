"""How a record's text is stored in `texts`: as it is (TEXT), or zstd-compressed against a dictionary of its
record kind (a BLOB: the dictionary's id, 2 bytes, then a zstd frame without its magic number).

A kind's dictionary is trained once `TRAIN_AFTER` of its texts exist and kept in `text_dicts`
(store/zstd_dictionaries.py). A text is stored compressed only where that is shorter than the text itself
(short ones stay as they are), and texts written before their kind had a dictionary, progress labels and
every text of a store made before this stay TEXT and are read as they are.

Every read goes through the connection's SQL function `text_of(stored)` (registered on each connection the
store opens); the `records` view gives the stored form, as it gives the stored meta."""

from __future__ import annotations

import sqlite3
import struct

from sftgen.store.zstd_dictionaries import TRAIN_AFTER, KindDictionaries


class TextCodec:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.dictionaries = KindDictionaries(conn, "text_dicts", self.samples_of, magicless=True)
        conn.create_function("text_of", 1, self.text, deterministic=True)

    def samples_of(self, kind: str) -> list[bytes]:
        return [row[0].encode("utf-8", "surrogatepass") for row in self.conn.execute(
            "SELECT t.text FROM record_rows r JOIN texts t ON t.n = r.text WHERE r.kind=? AND typeof(t.text)='text' "
            "ORDER BY t.n LIMIT ?", (kind, TRAIN_AFTER))]

    def stored(self, kind: str | None, text: str) -> str | bytes:
        """The stored form of a new text first written by a record of this kind (None: a progress label)."""
        if kind is None or not text:
            return text
        body = text.encode("utf-8", "surrogatepass")
        dictionary_id = self.dictionaries.dictionary_of(kind, body)
        if dictionary_id is None:
            return text
        compressed = struct.pack(">H", dictionary_id) + self.dictionaries.compress(dictionary_id, body)
        return compressed if len(compressed) < len(body) else text

    def reencode_text_rows(self) -> int:
        """Compress the texts stored as text (by an older sftgen, or before their kind had a dictionary),
        training the dictionaries that enough of them now make; how many were rewritten (`sftgen gc --apply`).
        A text is compressed with the dictionary of the kind of the first record that has it."""
        rewritten = 0
        kinds: dict[int, str] = {}
        for text_n, kind in self.conn.execute("SELECT text, kind FROM record_rows ORDER BY n"):
            kinds.setdefault(text_n, kind)
        rows = self.conn.execute("SELECT n, text FROM texts WHERE typeof(text)='text' ORDER BY n").fetchall()
        for n, text in rows:
            kind = kinds.get(n)
            if kind is None:  # a label, or a text no record has
                continue
            stored = self.stored(kind, text)
            if not isinstance(stored, str):
                self.conn.execute("UPDATE texts SET text=? WHERE n=?", (stored, n))
                rewritten += 1
        return rewritten

    def forget(self) -> None:
        self.dictionaries.forget()

    def text(self, stored: str | bytes | None) -> str | None:
        if stored is None or isinstance(stored, str):
            return stored
        (dictionary_id,) = struct.unpack(">H", stored[:2])
        return self.dictionaries.decompress(dictionary_id, stored[2:]).decode("utf-8", "surrogatepass")
