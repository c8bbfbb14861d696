"""The `llm_cache` table: request hash -> the raw request and its validated raw reply, both as compressed
JSON. Requests of one template repeat its instructions, so a request is compressed with a dictionary: the
first request stored with the same opening (the model and the start of the first message) is kept once in
`llm_cache_dicts`, and later ones store little more than what differs (the item's text). Replies are
compressed the same way, against the first reply to a request of that opening (after a common reply
envelope): replies of one template share their fields and JSON keys. Once `TRAIN_AFTER` bodies of an
opening are stored, a zstd dictionary is trained on them and replaces the first body's where it compresses
them smaller (kept under the opening prefixed with `TRAINED`).

Rows are zstd frames (`ZSTD_WITH_DICTIONARY`); a request that quotes texts the store holds (passages, the
question, the answer) keeps references to them instead (`ZSTD_WITH_TEXTS`: store/request_texts.py). Rows
written before that are read as they are: zlib against a dictionary (`WITH_DICTIONARY`), plain zlib (replies
written before their dictionaries), or the JSON text (rows written before compression)."""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

import zstandard

from sftgen.store.cache_keys import key_of, key_parts
from sftgen.store.db import Database
from sftgen.store.interning import texts_seen
from sftgen.store.request_texts import expanded, referenced, references
from sftgen.store.text_codec import TextCodec
from sftgen.store.zstd_dictionaries import TRAIN_AFTER, train, zstd_compressor, zstd_decompressor

WITH_DICTIONARY = b"\x01"
"""First byte of a zlib stream compressed with a dictionary (then its id, 4 bytes); a plain zlib stream starts
with 0x78."""
ZSTD_WITH_DICTIONARY = b"\x02"
"""First byte of a zstd frame compressed with a dictionary (then its id, 4 bytes)."""
ZSTD_WITH_TEXTS = b"\x03"
"""As ZSTD_WITH_DICTIONARY, for a request whose frame holds references to the store's texts in place of the
texts it quotes (store/request_texts.py)."""
OPENING_BYTES = 240
"""How much of a request's JSON says which template it comes from."""
DICTIONARY_BYTES = 32 * 1024
"""How much of the first body becomes its opening's dictionary."""
TRAINED_BYTES = 64 * 1024
MIN_TRAINED_BYTES = 4 * 1024
TRAINED_SHARE = 32
"""A trained dictionary is this fraction of the bodies it is trained on (within the bounds above): at 2,000
prompts most templates have a few hundred requests, which a larger one costs more than it saves."""
SAMPLE_BYTES = 16 * 1024 * 1024
"""The most bodies held for training at once; beyond it the openings with the fewest are let go (a template
whose requests each open differently gives an opening per request, that never makes enough)."""
HELD_CODECS = 64
"""The most zstd compressors (and decompressors) kept for reuse, the most recently used: each holds about
135 KB outside Python, and a template whose requests each open differently makes a dictionary per request
(511 at 20,000 prompts: 69 MB of peak RSS when all were kept)."""
TRAINED = b"trained:"
"""Prefixed to an opening: the key of its trained dictionary."""
REPLY_ENVELOPE = (b'{"id": "chatcmpl-", "object": "chat.completion", "created": 17, "model": "", "choices": [{"index": 0, '
                  b'"message": {"role": "assistant", "content": "", "refusal": null, "tool_calls": null}, '
                  b'"finish_reason": "stop", "logprobs": null}], "usage": {"prompt_tokens": , "completion_tokens": , '
                  b'"total_tokens": }, "system_fingerprint": null}')
"""What an OpenAI-style reply starts its dictionary with (a reply dictionary is this and the first reply)."""
REPLY_OPENING = b"reply:"
"""Prefixed to a request's opening: the key of the dictionary its replies are compressed with."""


def held_codec(held: dict[int, tuple[bytes, Any]], dictionary_id: int, data: bytes,
               make: Callable[[bytes], Any]) -> Any:
    """The compressor (or decompressor) of this dictionary from `held`, made when it is not there or was made
    from other bytes; `held` keeps the `HELD_CODECS` most recently used."""
    cached = held.pop(dictionary_id, None)
    if cached is None or (cached[0] is not data and cached[0] != data):
        cached = (data, make(data))
    held[dictionary_id] = cached  # the most recent last
    if len(held) > HELD_CODECS:
        del held[next(iter(held))]
    return cached[1]


BODY_JSON = json.JSONEncoder(ensure_ascii=False)
"""`json.dumps(value, ensure_ascii=False)` without making an encoder per call."""


def as_bytes(value: dict | bytes | str) -> bytes:
    if isinstance(value, dict):
        value = BODY_JSON.encode(value)
    return value.encode("utf-8") if isinstance(value, str) else value


def opening_of(body: bytes) -> bytes:
    return hashlib.blake2b(body[:OPENING_BYTES], digest_size=16).digest()


def unpacked(stored: bytes | str, dictionaries: Any = None,
             decompressors: Callable[[int], zstandard.ZstdDecompressor] | None = None,
             texts: Callable[[int], str] | None = None) -> Any:
    """The JSON value of a stored request or reply; `dictionaries(id)` gives a dictionary's bytes (needed
    only for rows stored with one: `LLMCache.entry` reads those); `decompressors(id)` a zstd decompressor
    made from it (made here from the bytes when not given); `texts(n)` the store's text of that number (for
    requests that refer to texts)."""
    if isinstance(stored, str):
        return json.loads(stored)
    return json.loads(raw_body(stored, dictionaries, decompressors, texts))


def raw_body(stored: bytes | str, dictionaries: Any = None,
             decompressors: Callable[[int], zstandard.ZstdDecompressor] | None = None,
             texts: Callable[[int], str] | None = None) -> bytes:
    """The JSON bytes of a stored request or reply, as they were sent."""
    if isinstance(stored, str):
        return stored.encode("utf-8")
    if stored[:1] in (ZSTD_WITH_DICTIONARY, ZSTD_WITH_TEXTS):
        (dictionary_id,) = struct.unpack(">I", stored[1:5])
        decompressor = (decompressors(dictionary_id) if decompressors is not None
                        else zstd_decompressor(dictionaries(dictionary_id)))
        body = decompressor.decompress(stored[5:])
        if stored[:1] == ZSTD_WITH_TEXTS:
            if texts is None:
                raise ValueError("a cached request that refers to the store's texts needs them to be read")
            body = expanded(body, texts)
        return body
    if stored[:1] == WITH_DICTIONARY:
        (dictionary_id,) = struct.unpack(">I", stored[1:5])
        inflate = zlib.decompressobj(zdict=dictionaries(dictionary_id))
        return inflate.decompress(stored[5:]) + inflate.flush()
    return zlib.decompress(stored)


def texts_reader(conn) -> Callable[[int], str]:
    """`texts` for `unpacked` on any connection to a store (one opened without the store's code too)."""
    codec = TextCodec(conn)

    def text(n: int) -> str:
        row = conn.execute("SELECT text FROM texts WHERE n=?", (n,)).fetchone()
        if row is None:
            raise KeyError(f"text {n}, which a cached request refers to, is missing from the store")
        return codec.text(row[0])
    return text


def trained(samples: list[bytes], first: bytes) -> bytes | None:
    """A dictionary trained on these bodies, when it compresses them smaller than `first` does."""
    data = train(samples, max(MIN_TRAINED_BYTES, min(TRAINED_BYTES, sum(map(len, samples)) // TRAINED_SHARE)))
    if data is None:
        return None
    by_trained, by_first = zstd_compressor(data), zstd_compressor(first)
    if sum(len(by_trained.compress(body)) for body in samples) >= sum(len(by_first.compress(body)) for body in samples):
        return None
    return data


class LLMCache:
    def __init__(self, db: Database):
        self.db = db
        self.conn = db.conn
        self._by_opening: dict[bytes, tuple[int, bytes]] = {}
        self._by_id: dict[int, bytes] = {}
        self._samples: dict[bytes, list[bytes]] = {}
        self._sample_bytes = 0
        """The bodies of an opening stored by this process, until its dictionary is trained on them."""
        self._settled: set[bytes] = set()
        """Openings whose dictionary is trained, or was found no better than the first body."""
        self._lock = threading.Lock()
        self._compressors: dict[int, tuple[bytes, zstandard.ZstdCompressor]] = {}
        self._decompressors: dict[int, tuple[bytes, zstandard.ZstdDecompressor]] = {}
        """By dictionary id, with the bytes they were made from (an id made in a transaction that rolled back
        can come again with other bytes)."""
        self._texts_committed = False
        """Whether the texts found now are committed ones: inside a `put_many` that began the transaction
        (it inserts no texts); the connection then remembers their numbers."""

    def dictionary(self, dictionary_id: int) -> bytes:
        if dictionary_id not in self._by_id:
            row = self.conn.execute("SELECT data FROM llm_cache_dicts WHERE id=?", (dictionary_id,)).fetchone()
            if row is None:
                raise KeyError(f"LLM cache dictionary {dictionary_id} is missing")
            self._by_id[dictionary_id] = row[0]
        return self._by_id[dictionary_id]

    def packed_request(self, request: dict | bytes, refer: bool = True) -> tuple[bytes, tuple[bytes, int, bytes] | None]:
        """Inside the caller's transaction: the compressed request (with references to the texts it quotes
        that the store holds, unless not `refer`), and the dictionary it made (the first request of an
        opening becomes its dictionary), to remember once the transaction commits."""
        body = as_bytes(request)
        kept, numbers = referenced(body, self.text_numbers) if refer else (body, [])
        return self.packed_with(opening_of(body), kept, lambda: kept[-DICTIONARY_BYTES:],
                                ZSTD_WITH_TEXTS if numbers else ZSTD_WITH_DICTIONARY)

    def text_numbers(self, digests: list[bytes]) -> dict[bytes, int]:
        """hash -> number of the texts the store has, of these: those the connection read lately (a step's
        inputs, texts found for earlier requests) without a query."""
        seen = texts_seen(self.conn)
        found: dict[bytes, int] = {}
        missing = []
        for digest in digests:
            n = None if seen is None else seen.get(digest)
            if n is None:
                missing.append(digest)
            else:
                found[digest] = n
        if missing:
            rows = self.conn.execute(f"SELECT hash, n FROM texts WHERE hash IN ({','.join('?' * len(missing))})",
                                     missing).fetchall()
            found.update(rows)
            if seen is not None and self._texts_committed:
                seen.remember(rows)
        return found

    def text(self, n: int) -> str:
        row = self.conn.execute("SELECT text FROM texts WHERE n=?", (n,)).fetchone()
        if row is None:
            raise KeyError(f"text {n}, which a cached request refers to, is missing from the store")
        return self.db.texts.text(row[0])

    def packed_reply(self, request: dict | bytes, response: dict | bytes,
                     ) -> tuple[bytes, tuple[bytes, int, bytes] | None]:
        """As `packed_request`, for the reply: against the first reply to a request of the same opening."""
        body = as_bytes(response)
        return self.packed_with(opening_of(REPLY_OPENING + as_bytes(request)[:OPENING_BYTES]), body,
                                lambda: (REPLY_ENVELOPE + body)[-DICTIONARY_BYTES:])

    def packed_with(self, opening: bytes, body: bytes, first: Callable[[], bytes], mark: bytes = ZSTD_WITH_DICTIONARY,
                    ) -> tuple[bytes, tuple[bytes, int, bytes] | None]:
        made = None
        held = self._by_opening.get(opening)
        if held is None:
            row = self.conn.execute("SELECT id, data FROM llm_cache_dicts WHERE opening IN (?, ?) "
                                    "ORDER BY opening = ? DESC LIMIT 1",
                                    (TRAINED + opening, opening, TRAINED + opening)).fetchone()
            if row is None:
                data = first()
                cursor = self.conn.execute("INSERT INTO llm_cache_dicts (opening, data) VALUES (?, ?)", (opening, data))
                row = (int(cursor.lastrowid), data)
            held = (row[0], row[1])
            made = (opening, *held)
        if opening not in self._settled:
            trained_now = self.trained_for(opening, body, held)
            if trained_now is not None:
                held = trained_now
                made = (opening, *held)
        dictionary_id, data = held
        with self._lock:
            frame = held_codec(self._compressors, dictionary_id, data, zstd_compressor).compress(body)
        return mark + struct.pack(">I", dictionary_id) + frame, made

    def trained_for(self, opening: bytes, body: bytes, held: tuple[int, bytes]) -> tuple[int, bytes] | None:
        """The opening's trained dictionary, made now when this body makes enough of them (None while it has
        only its first body's)."""
        row = self.conn.execute("SELECT id, data FROM llm_cache_dicts WHERE opening=?", (TRAINED + opening,)).fetchone()
        if row is not None:  # trained by another process
            self._settled.add(opening)
            return row[0], row[1]
        samples = self._samples.setdefault(opening, [])
        samples.append(body)
        self._sample_bytes += len(body)
        if len(samples) < TRAIN_AFTER:
            self.let_go(keeping=opening)
            return None
        self._settled.add(opening)
        self._sample_bytes -= sum(map(len, self._samples.pop(opening)))
        data = trained(samples, held[1])
        if data is None:
            return None
        cursor = self.conn.execute("INSERT INTO llm_cache_dicts (opening, data) VALUES (?, ?)", (TRAINED + opening, data))
        return int(cursor.lastrowid), data

    def let_go(self, keeping: bytes) -> None:
        """Drop the samples of the openings with the fewest while they hold more than SAMPLE_BYTES."""
        while self._sample_bytes > SAMPLE_BYTES and len(self._samples) > 1:
            fewest = min((opening for opening in self._samples if opening != keeping),
                         key=lambda opening: len(self._samples[opening]))
            self._sample_bytes -= sum(map(len, self._samples.pop(fewest)))

    def decompressor(self, dictionary_id: int) -> zstandard.ZstdDecompressor:
        return held_codec(self._decompressors, dictionary_id, self.dictionary(dictionary_id), zstd_decompressor)

    def unpacked(self, stored: bytes | str) -> Any:
        with self._lock:
            return unpacked(stored, self.dictionary, self.decompressor, self.text)

    def reencode_older_rows(self) -> int:
        """Inside the caller's transaction: store the rows an older sftgen wrote (zlib, JSON text) as zstd
        frames, with the bytes they hold, and the requests that quote texts the store holds with references
        to them; how many were rewritten (`sftgen gc --apply`)."""
        rows = self.conn.execute(
            "SELECT n, request, response FROM llm_rows WHERE substr(request, 1, 1) != ? OR substr(response, 1, 1) != ? "
            "ORDER BY n", (ZSTD_WITH_TEXTS, ZSTD_WITH_DICTIONARY)).fetchall()
        rewritten = 0
        for n, request, response in rows:
            with self._lock:
                request_body, response_body = (raw_body(request, self.dictionary, self.decompressor, self.text),
                                               raw_body(response, self.dictionary, self.decompressor, self.text))
            stored, _ = self.packed_request(request_body)
            if request[:1] == ZSTD_WITH_DICTIONARY == response[:1] and stored[:1] == ZSTD_WITH_DICTIONARY:
                continue  # today's form already, and nothing to refer to
            reply = response if response[:1] == ZSTD_WITH_DICTIONARY else self.packed_reply(request_body, response_body)[0]
            self.conn.execute("UPDATE llm_rows SET request=?, response=? WHERE n=?", (stored, reply, n))
            rewritten += 1
        self._by_opening.clear()  # the dictionaries made now are read again once committed
        return rewritten

    def inline_texts(self, doomed: set[int]) -> int:
        """Inside the caller's transaction, before these texts are deleted: the requests that refer to any of
        them stored with their texts in place again; how many."""
        if not doomed:
            return 0
        rewritten = 0
        rows = self.conn.execute("SELECT n, request FROM llm_rows WHERE substr(request, 1, 1) = ?",
                                 (ZSTD_WITH_TEXTS,)).fetchall()
        for n, request in rows:
            (dictionary_id,) = struct.unpack(">I", request[1:5])
            with self._lock:
                kept = self.decompressor(dictionary_id).decompress(request[5:])
            if doomed.isdisjoint(references(kept)):
                continue
            stored, _ = self.packed_request(expanded(kept, self.text), refer=False)
            self.conn.execute("UPDATE llm_rows SET request=? WHERE n=?", (stored, n))
            rewritten += 1
        self._by_opening.clear()
        return rewritten

    def get(self, key: str) -> dict[str, Any] | None:
        if self.db.disk_full is not None:  # the reply to a request sent now could not be stored: send none
            raise self.db.disk_full
        row = self.conn.execute("SELECT response FROM llm_rows WHERE k=? AND tail=?", key_parts(key)).fetchone()
        return self.unpacked(row["response"]) if row else None

    def put(self, key: str, model: str, request: dict | bytes, response: dict | bytes, usage: dict) -> None:
        """`request` is the body as sent: its dict or the JSON bytes the client posted; `response` the reply's
        dict or the JSON bytes it came in (stored as they are, read back as their JSON value)."""
        # Written at once, outside any batch, so a request answered just before a crash is not re-sent.
        self.put_many([(key, model, request, response, usage)])

    def put_many(self, rows: list[tuple[str, str, dict | bytes, dict | bytes, dict]]) -> None:
        """Several `put`s' rows (key, model, request, response, usage) in one transaction and one statement."""
        made_now = []
        began = not self.conn.in_transaction  # then every text it finds is committed (it inserts none)
        with self.db.transaction("the LLM request cache"):
            self._texts_committed = began
            try:
                values: dict[str, tuple] = {}  # by key: a key sent twice in the batch keeps its last reply
                for key, model, request, response, usage in rows:
                    stored, made_for_request = self.packed_request(request)
                    reply, made_for_reply = self.packed_reply(request, response)
                    made_now += [made_for_request, made_for_reply]
                    values.pop(key, None)
                    values[key] = (*key_parts(key), model, stored, reply, usage.get("prompt_tokens", 0),
                                   usage.get("completion_tokens", 0), time.time())
            finally:
                self._texts_committed = False
            self.conn.executemany("DELETE FROM llm_rows WHERE k=? AND tail=?", [row[:2] for row in values.values()])
            self.conn.executemany(
                """INSERT INTO llm_rows
                   (k, tail, model, request, response, prompt_tokens, completion_tokens, created_at)
                   VALUES (?,?,?,?,?,?,?,?)""", list(values.values()))
        for made in made_now:
            if made is not None:  # committed: later requests of this opening use it
                opening, dictionary_id, data = made
                self._by_opening[opening] = (dictionary_id, data)
                self._by_id[dictionary_id] = data

    def entry(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT model, request, response FROM llm_rows WHERE k=? AND tail=?",
                                key_parts(key)).fetchone()
        if not row:
            return None
        return {"key": key, "model": row["model"], "request": self.unpacked(row["request"]),
                "response": self.unpacked(row["response"])}

    def models(self) -> list[dict[str, Any]]:
        """The models that answered, most requests first."""
        rows = self.conn.execute("SELECT model, COUNT(*) AS n FROM llm_rows GROUP BY model ORDER BY n DESC")
        return [{"model": row["model"], "requests": row["n"]} for row in rows]
