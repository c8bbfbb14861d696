"""zstd dictionaries by kind, trained on a kind's first bodies: what record metas (store/meta_codec.py) and
record texts (store/text_codec.py) are compressed with, and the training and compressors of the LLM cache's
dictionaries (store/llm_cache.py, which keys them by request opening).

Bodies of one kind share their words and keys, so once `TRAIN_AFTER` bodies of a kind exist a dictionary is
trained on them (fixed fastCover parameters: the same bodies give the same dictionary) and kept in the
codec's table (`id, kind, data`; one per kind, never changed). Until then the bodies stay as they are. The
samples of a kind are its stored uncompressed bodies (`samples_of(kind)`, read once per process), then the
bodies written since. A dictionary made inside a transaction that rolls back is forgotten with it
(`forget`): its id may come again with other bytes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import zstandard

LEVEL = 3
TRAIN_AFTER = 256
"""Bodies of a kind kept as they are before its dictionary is trained on them."""
DICTIONARY_BYTES = 16 * 1024


def train(samples: list[bytes], size: int = DICTIONARY_BYTES) -> bytes | None:
    """A dictionary of `size` bytes trained on these bodies (None where training cannot: too alike, too few)."""
    try:
        return zstandard.train_dictionary(size, samples, k=1024, d=8, f=16, level=LEVEL).as_bytes()
    except zstandard.ZstdError:
        return None


def trained(samples: list[bytes], size: int = DICTIONARY_BYTES) -> bytes:
    """A dictionary trained on these bodies; their raw content where training cannot."""
    data = train(samples, size)
    if data is not None:
        return data
    return zstandard.ZstdCompressionDict(b"".join(samples)[-size:], dict_type=zstandard.DICT_TYPE_RAWCONTENT).as_bytes()


def zstd_compressor(data: bytes, magicless: bool = False) -> zstandard.ZstdCompressor:
    """A compressor with this dictionary: no checksum, no dictionary id, the content size in the frame;
    `magicless`: without zstd's 4-byte magic number (the caller's own mark says what a value is)."""
    if not magicless:
        return zstandard.ZstdCompressor(level=LEVEL, dict_data=zstandard.ZstdCompressionDict(data),
                                        write_checksum=False, write_dict_id=False, write_content_size=True)
    return zstandard.ZstdCompressor(  # the format is set through parameters only
        dict_data=zstandard.ZstdCompressionDict(data), compression_params=zstandard.ZstdCompressionParameters.from_level(
            LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=False, write_dict_id=False,
            write_content_size=True))


def zstd_decompressor(data: bytes, magicless: bool = False) -> zstandard.ZstdDecompressor:
    return zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(data), format=(
        zstandard.FORMAT_ZSTD1_MAGICLESS if magicless else zstandard.FORMAT_ZSTD1))


class KindDictionaries:
    """One connection's dictionaries of one table, and the compressors made from them. `magicless`: frames
    without zstd's 4-byte magic number (the caller's own mark says what a value is)."""

    def __init__(self, conn: sqlite3.Connection, table: str, samples_of: Callable[[str], list[bytes]],
                 magicless: bool = False):
        self.conn = conn
        self.table = table
        self.samples_of = samples_of
        self.magicless = magicless
        self.lock = threading.Lock()
        self.by_kind: dict[str, int | None] = {}
        """kind -> its dictionary's id (None: known to have none yet)."""
        self.samples: dict[str, list[bytes]] = {}
        self.compressors: dict[int, zstandard.ZstdCompressor] = {}
        self.decompressors: dict[int, zstandard.ZstdDecompressor] = {}

    # ---- writing (inside the caller's transaction) -----------------------------------------------

    def dictionary_of(self, kind: str, body: bytes) -> int | None:
        """The id of this kind's dictionary, trained now when this body makes enough of them (None: the body
        is kept as a sample and stored as it is)."""
        if kind not in self.by_kind:
            row = self.conn.execute(f"SELECT id, data FROM {self.table} WHERE kind=?", (kind,)).fetchone()
            self.by_kind[kind] = None if row is None else self.load(row[0], row[1])
        if self.by_kind[kind] is not None:
            return self.by_kind[kind]
        samples = self.samples.get(kind)
        if samples is None:
            samples = self.samples[kind] = self.samples_of(kind)
        samples.append(body)
        if len(samples) < TRAIN_AFTER:
            return None
        self.conn.execute(f"INSERT OR IGNORE INTO {self.table} (kind, data) VALUES (?, ?)", (kind, trained(samples)))
        row = self.conn.execute(f"SELECT id, data FROM {self.table} WHERE kind=?", (kind,)).fetchone()  # another's, if first
        self.by_kind[kind] = self.load(row[0], row[1])
        del self.samples[kind]
        return self.by_kind[kind]

    def compress(self, dictionary_id: int, body: bytes) -> bytes:
        with self.lock:
            return self.compressors[dictionary_id].compress(body)

    # ---- reading -------------------------------------------------------------------------------

    def decompress(self, dictionary_id: int, frame: bytes) -> bytes:
        if dictionary_id not in self.decompressors:
            row = self.conn.execute(f"SELECT data FROM {self.table} WHERE id=?", (dictionary_id,)).fetchone()
            if row is None:
                raise KeyError(f"{self.table} dictionary {dictionary_id} is missing from the store")
            self.load(dictionary_id, row[0])
        with self.lock:
            return self.decompressors[dictionary_id].decompress(frame)

    def load(self, dictionary_id: int, data: bytes) -> int:
        compressor, decompressor = zstd_compressor(data, self.magicless), zstd_decompressor(data, self.magicless)
        with self.lock:
            self.compressors[dictionary_id] = compressor
            self.decompressors[dictionary_id] = decompressor
        return dictionary_id

    def forget(self) -> None:
        """After a rollback: a dictionary made in it is gone (the others are read again when needed)."""
        with self.lock:
            self.by_kind.clear()
            self.samples.clear()
            self.compressors.clear()
            self.decompressors.clear()
