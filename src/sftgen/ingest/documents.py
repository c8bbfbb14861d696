"""What reading a source file yields: documents, and problems that name their cause."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DocumentFormat = Literal["txt", "md", "html", "pdf", "jsonl"]

# Stable codes: they become drop reasons that `sftgen status` counts, so never rename one.
DROP_REASONS = (
    "unsupported_type",
    "binary",
    "empty",
    "too_large",
    "decode_error",
    "parse_error",
    "missing_text_field",
    "io_error",
    "outside_source",   # a symlink whose target is outside the source folder: not read
    "dangling_link",    # a symlink to nothing
    "symlink_loop",     # a symlink that leads back to itself or to a folder above it
    "duplicate_link",   # a symlink to a folder inside the source folder, which is read as itself
    "too_many_pages",   # a PDF over sources.max_pdf_pages
)


@dataclass
class RawDocument:
    """The text of one source document, before chunking.

    `source` is the file's path relative to the ingest root (posix form); a jsonl row
    adds `#L<line>` with its 1-based line number.
    """

    text: str
    source: str
    format: DocumentFormat
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class UnreadableFile(Exception):
    """A file, or one jsonl line, that gives no document.

    `reason` is one of DROP_REASONS; `detail` is a human message naming the file (and the
    line and field for jsonl); `source` is the same string a document from there would have.
    """

    def __init__(self, reason: str, detail: str, source: str = "") -> None:
        if reason not in DROP_REASONS:
            raise ValueError(f"unknown drop reason {reason!r}; expected one of {DROP_REASONS}")
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.source = source

    def __repr__(self) -> str:
        return f"UnreadableFile(reason={self.reason!r}, detail={self.detail!r}, source={self.source!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnreadableFile):
            return NotImplemented
        return (self.reason, self.detail, self.source) == (other.reason, other.detail, other.source)

    def __hash__(self) -> int:
        return hash((self.reason, self.detail, self.source))


@dataclass
class ReadOutcome:
    """Everything one file gave: its documents and its problems, in file order.

    A whole-file failure is one problem and no documents; a jsonl file may give both
    good rows and one problem per bad line.
    """

    documents: list[RawDocument] = field(default_factory=list)
    problems: list[UnreadableFile] = field(default_factory=list)
