"""One document per JSON Lines row that has a `text` field; bad rows are problems, not failures."""

from __future__ import annotations

import json
from typing import Any

from sftgen.ingest.decoding import normalise_whitespace
from sftgen.ingest.documents import RawDocument, ReadOutcome, UnreadableFile

TEXT_FIELD = "text"
TITLE_FIELD = "title"


def read_jsonl_rows(content: str, source: str, base_meta: dict[str, Any]) -> ReadOutcome:
    """Read every non-blank line; each gives either a document or a problem naming its line."""
    outcome = ReadOutcome()
    # Split on "\n" only: str.splitlines() would also split on U+2028, legal inside JSON strings.
    for line_number, line in enumerate(content.split("\n"), start=1):
        if not line.strip():
            continue
        row_source = f"{source}#L{line_number}"
        try:
            outcome.documents.append(_document_from_line(line, row_source, base_meta))
        except UnreadableFile as problem:
            outcome.problems.append(problem)
    return outcome


def _document_from_line(line: str, row_source: str, base_meta: dict[str, Any]) -> RawDocument:
    row = _parse_row(line, row_source)
    text = row.get(TEXT_FIELD)
    if text is None:
        raise UnreadableFile(
            "missing_text_field", f"{row_source}: no {TEXT_FIELD!r} field (keys: {sorted(row)})", row_source
        )
    if not isinstance(text, str):
        raise UnreadableFile(
            "missing_text_field",
            f"{row_source}: field {TEXT_FIELD!r} is a {type(text).__name__}, not a string",
            row_source,
        )
    text = normalise_whitespace(text)
    if not text.strip():
        raise UnreadableFile("empty", f"{row_source}: field {TEXT_FIELD!r} is empty", row_source)
    extra_fields = {key: value for key, value in row.items() if key != TEXT_FIELD}
    title = row.get(TITLE_FIELD)
    return RawDocument(
        text=text,
        source=row_source,
        format="jsonl",
        title=(title.strip() or None) if isinstance(title, str) else None,
        # File-level facts (encoding) win over a row field of the same name.
        meta={**extra_fields, **base_meta},
    )


def _parse_row(line: str, row_source: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise UnreadableFile(
            "parse_error", f"{row_source}: invalid JSON at column {error.colno}: {error.msg}", row_source
        ) from error
    if not isinstance(row, dict):
        raise UnreadableFile(
            "parse_error", f"{row_source}: expected a JSON object, got a {type(row).__name__}", row_source
        )
    return row
