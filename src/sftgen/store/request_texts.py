"""The store's texts inside a cached request, kept as references to them.

A request quotes the records it is about (a question, an answer, its passages) each in a fence,
`<LABEL>\\n...\\n</LABEL>` (sftgen/llm/fencing.py); most of an answer's or a grader's request is its passages.
A fenced text that `texts` holds already (found by its hash) is stored as a reference: `REFERENCE`, how it
was escaped in the request's JSON (`ESCAPES`), then the text's number (4 bytes). JSON never holds a raw NUL
byte, so a reference cannot be mistaken for the request's own bytes, and the request's bytes come back
exactly as they were sent (`expanded`). A fenced text that is short, not in the store, or escaped another
way stays where it is. `sftgen gc` writes the texts back into the requests before it deletes texts they
refer to (store/gc.py)."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from functools import lru_cache
from json.decoder import scanstring
from json.encoder import encode_basestring, encode_basestring_ascii

from sftgen.store.interning import text_hash

REFERENCE = b"\x00"
ESCAPES = {b"8": encode_basestring, b"u": encode_basestring_ascii}
"""The byte after REFERENCE: the text was escaped as `json.dumps(ensure_ascii=False)` / `=True` writes it."""
OPENING = re.compile(rb"<([A-Z][A-Z_]*)>\\n")
"""Where a fenced text starts in a request's JSON bytes (its line breaks escaped: `\\n`); it ends at the first
`\\n</LABEL>` after it."""
MIN_BYTES = 64
"""Fenced texts shorter than this stay in the request (a reference is 6 bytes)."""
SEGMENTS_HELD = 8192
"""How many fenced texts' escapes and hashes are remembered, the most recently quoted: a run's requests quote
the same texts again and again (a question in each request about it, a passage in each answer and grade of
it: 85% of the fenced texts at 2,000 prompts), and a text's bytes give the same escape and hash every time."""


def fenced(body: bytes) -> list[tuple[int, int]]:
    """(start, end) of each fenced text in the request's JSON bytes, long enough to refer to."""
    spans, last = [], 0
    for match in OPENING.finditer(body):
        if match.start() < last:  # inside the previous fence
            continue
        end = body.find(b"\\n</" + match.group(1) + b">", match.end())
        if end < 0:
            continue
        if end - match.end() >= MIN_BYTES:
            spans.append((match.end(), end))
        last = end
    return spans


@lru_cache(maxsize=SEGMENTS_HELD)
def fenced_text(segment: bytes) -> tuple[bytes, bytes] | None:
    """How a fenced text was escaped in the request's JSON (a key of `ESCAPES`) and its hash; None when it
    cannot be referred to (not JSON escaped in either way)."""
    try:
        text_json = segment.decode("utf-8")
        text = scanstring('"' + text_json + '"', 1)[0]
    except ValueError:  # UnicodeDecodeError too
        return None
    for style, escape in ESCAPES.items():
        if escape(text)[1:-1] == text_json:
            return style, text_hash(text)
    return None


def referenced(body: bytes, numbers_of: Callable[[list[bytes]], dict[bytes, int]]) -> tuple[bytes, list[int]]:
    """The request's JSON bytes with the fenced texts the store holds as references, and their numbers
    (none: `body` itself). `numbers_of(hashes)`: the numbers of the texts of those hashes that the store has."""
    found = []
    for start, end in fenced(body):
        known = fenced_text(body[start:end])
        if known is not None:
            found.append((start, end, *known))
    if not found:
        return body, []
    held = numbers_of([digest for *_, digest in found])
    parts, numbers, last = [], [], 0
    for start, end, style, digest in found:
        n = held.get(digest)
        if n is None:
            continue
        parts += [body[last:start], REFERENCE + style + struct.pack(">I", n)]
        numbers.append(n)
        last = end
    if not numbers:
        return body, []
    parts.append(body[last:])
    return b"".join(parts), numbers


def references(body: bytes) -> list[int]:
    """The numbers of the texts a referenced body refers to."""
    numbers, at = [], body.find(REFERENCE)
    while at >= 0:
        numbers.append(struct.unpack(">I", body[at + 2:at + 6])[0])
        at = body.find(REFERENCE, at + 6)
    return numbers


def expanded(body: bytes, text_of: Callable[[int], str]) -> bytes:
    """The request's JSON bytes as sent: each reference replaced by its text, escaped as it was."""
    parts, last, at = [], 0, body.find(REFERENCE)
    while at >= 0:
        style, (n,) = body[at + 1:at + 2], struct.unpack(">I", body[at + 2:at + 6])
        parts += [body[last:at], ESCAPES[style](text_of(n))[1:-1].encode("utf-8", "surrogatepass")]
        last = at + 6
        at = body.find(REFERENCE, last)
    parts.append(body[last:])
    return b"".join(parts)
