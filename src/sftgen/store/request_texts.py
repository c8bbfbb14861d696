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

import json
import re
import struct
from collections.abc import Callable

from sftgen.store.interning import text_hash

REFERENCE = b"\x00"
ESCAPES = {b"u": True, b"8": False}
"""The byte after REFERENCE: the text was written with `json.dumps(ensure_ascii=...)`."""
FENCED = re.compile(rb"<([A-Z][A-Z_]*)>\\n(.*?)\\n</\1>", re.S)
"""A fenced text in a request's JSON bytes (its line breaks escaped: `\\n`)."""
MIN_BYTES = 64
"""Fenced texts shorter than this stay in the request (a reference is 6 bytes; one lookup each)."""


def escaped(text: str, ensure_ascii: bool) -> bytes:
    return json.dumps(text, ensure_ascii=ensure_ascii)[1:-1].encode("utf-8", "surrogatepass")


def referenced(body: bytes, number_of: Callable[[bytes], int | None]) -> tuple[bytes, list[int]]:
    """The request's JSON bytes with the fenced texts the store holds as references, and their numbers
    (none: `body` itself). `number_of(hash)`: the number of the text of that hash, or None."""
    if b"\\n</" not in body:
        return body, []
    parts, numbers, last = [], [], 0
    for match in FENCED.finditer(body):
        segment = match.group(2)
        if len(segment) < MIN_BYTES:
            continue
        try:
            text = json.loads(b'"' + segment + b'"')
        except ValueError:
            continue
        n = number_of(text_hash(text))
        if n is None:
            continue
        style = next((mark for mark, ascii_only in ESCAPES.items() if escaped(text, ascii_only) == segment), None)
        if style is None:
            continue
        parts += [body[last:match.start(2)], REFERENCE + style + struct.pack(">I", n)]
        numbers.append(n)
        last = match.end(2)
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
        parts += [body[last:at], escaped(text_of(n), ESCAPES[style])]
        last = at + 6
        at = body.find(REFERENCE, last)
    parts.append(body[last:])
    return b"".join(parts)
