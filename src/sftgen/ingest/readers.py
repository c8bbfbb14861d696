"""Find source files and read them into RawDocuments.

    for entry in iter_source_entries(folder):   # files, and links that are not followed (entry.problem)
        outcome = read_documents(entry.path, root=folder, max_bytes=limit)
        outcome.documents  # RawDocument per file, or per jsonl row
        outcome.problems   # UnreadableFile per unreadable file, or per bad jsonl row

read_documents never raises UnreadableFile: every problem, whole-file or per-line, arrives
in `outcome.problems` with its drop reason, so a caller has one place to record drops.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sftgen.chunking.markdown_headings import find_headings
from sftgen.ingest.decoding import decode_text, normalise_whitespace
from sftgen.ingest.documents import DocumentFormat, RawDocument, ReadOutcome, UnreadableFile
from sftgen.ingest.jsonl_reader import read_jsonl_rows
from sftgen.ingest.links import link_problem

FORMAT_BY_EXTENSION: dict[str, DocumentFormat] = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".jsonl": "jsonl",
}


@dataclass(frozen=True)
class SourceEntry:
    path: Path
    problem: UnreadableFile | None = None
    """Set for a symlink that is not read (outside the folder, dangling, a loop): see ingest/links.py."""


def iter_source_entries(folder: Path) -> Iterator[SourceEntry]:
    """Every regular file under `folder`, recursively, in sorted path order, and every symlink that is
    not followed, with the reason (`SourceEntry.problem`).

    Names starting with '.' (files and folders) are skipped. Files of any extension are
    yielded, so unsupported ones can be recorded as `unsupported_type`. A symlink to a file
    inside the folder is read; links to folders are not followed (see ingest/links.py).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    yield from _walk_sorted(folder, folder)


def iter_source_files(folder: Path) -> Iterator[Path]:
    """The readable files of `iter_source_entries`: links that are not followed are left out."""
    return (entry.path for entry in iter_source_entries(folder) if entry.problem is None)


def read_documents(path: Path, root: Path, max_bytes: int, max_pdf_pages: int | None = None) -> ReadOutcome:
    """Read one file into documents (one per file, or one per jsonl row) and problems."""
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    path = Path(path)
    source = source_name(path, Path(root))
    problem = link_problem(path, Path(root), source)
    if problem is not None:
        return ReadOutcome(problems=[problem])
    try:
        return _read_file(path, source, max_bytes, max_pdf_pages)
    except UnreadableFile as problem:
        return ReadOutcome(problems=[problem])


def source_name(path: Path, root: Path) -> str:
    """The path relative to root, in posix form: stable across machines and OSes."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        raise ValueError(f"{path} is not inside the ingest root {root}") from None


def _format_of(path: Path, source: str) -> DocumentFormat:
    document_format = FORMAT_BY_EXTENSION.get(path.suffix.lower())
    if document_format is None:
        supported = ", ".join(sorted(FORMAT_BY_EXTENSION))
        extension = path.suffix or "(none)"
        detail = f"{source}: extension {extension!r} is not one of {supported}"
        raise UnreadableFile("unsupported_type", detail, source)
    return document_format


def _walk_sorted(folder: Path, root: Path) -> Iterator[SourceEntry]:
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            problem = link_problem(entry, root, entry.relative_to(root).as_posix())
            if problem is not None:
                yield SourceEntry(entry, problem)
            elif entry.is_file():
                yield SourceEntry(entry)
        elif entry.is_dir():
            yield from _walk_sorted(entry, root)
        elif entry.is_file():
            yield SourceEntry(entry)


def _read_file(path: Path, source: str, max_bytes: int, max_pdf_pages: int | None) -> ReadOutcome:
    document_format = _format_of(path, source)
    raw = _read_bytes(path, source, max_bytes)
    if document_format == "pdf":
        return ReadOutcome(documents=[_pdf_document(raw, source, max_pdf_pages)])
    text, encoding = decode_text(raw, source)
    meta = {"encoding": encoding}
    if document_format == "jsonl":
        return _jsonl_outcome(text, source, meta)
    if document_format == "html":
        return ReadOutcome(documents=[_html_document(text, source, meta)])
    return ReadOutcome(documents=[_plain_document(text, source, document_format, meta)])


def _read_bytes(path: Path, source: str, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            detail = f"{source}: {size} bytes, over the limit of {max_bytes}"
            raise UnreadableFile("too_large", detail, source)
        with path.open("rb") as file:
            # Read one byte past the limit: the file may have grown since stat().
            raw = file.read(max_bytes + 1)
    except OSError as error:
        detail = f"{source}: cannot read: {error.strerror or error}"
        raise UnreadableFile("io_error", detail, source) from error
    if len(raw) > max_bytes:
        raise UnreadableFile("too_large", f"{source}: over the limit of {max_bytes} bytes", source)
    if not raw:
        raise UnreadableFile("empty", f"{source}: file is empty (0 bytes)", source)
    return raw


def _plain_document(
    text: str, source: str, document_format: DocumentFormat, meta: dict[str, Any]
) -> RawDocument:
    text = _non_empty(normalise_whitespace(text), source, "file has only whitespace")
    title = _markdown_title(text) if document_format == "md" else None
    return RawDocument(text=text, source=source, format=document_format, title=title, meta=meta)


def _html_document(html: str, source: str, meta: dict[str, Any]) -> RawDocument:
    try:
        from sftgen.ingest.html_reader import extract_main_text  # trafilatura loads with the first html file

        page = extract_main_text(html)
    except Exception as error:  # a parser failure on one odd page must not stop the run
        raise UnreadableFile("parse_error", f"{source}: HTML extraction failed: {error!r}", source) from error
    text = _non_empty(normalise_whitespace(page.text), source, "no main text found in the HTML")
    if page.url:
        meta = {**meta, "url": page.url}
    return RawDocument(text=text, source=source, format="html", title=page.title, meta=meta)


def _pdf_document(raw: bytes, source: str, max_pages: int | None) -> RawDocument:
    from sftgen.ingest.pdf_reader import PdfProblem, TooManyPages, extract_pdf_text  # pypdf loads with the first pdf

    try:
        pdf = extract_pdf_text(raw, max_pages)
    except TooManyPages as problem:
        raise UnreadableFile("too_many_pages", f"{source}: {problem}", source) from problem
    except PdfProblem as problem:
        raise UnreadableFile("parse_error", f"{source}: unreadable PDF: {problem}", source) from problem
    text = _non_empty(pdf.text, source, f"no extractable text in {pdf.page_count} page(s) (scanned images?)")
    meta = {"page_count": pdf.page_count, "page_offsets": pdf.page_offsets}
    return RawDocument(text=text, source=source, format="pdf", title=pdf.title, meta=meta)


def _jsonl_outcome(text: str, source: str, meta: dict[str, Any]) -> ReadOutcome:
    outcome = read_jsonl_rows(text, source, meta)
    if not outcome.documents and not outcome.problems:
        raise UnreadableFile("empty", f"{source}: no JSON lines, only whitespace", source)
    return outcome


def _non_empty(text: str, source: str, why_empty: str) -> str:
    if not text.strip():
        raise UnreadableFile("empty", f"{source}: {why_empty}", source)
    return text


def _markdown_title(text: str) -> str | None:
    """The first level-1 heading, which is the title by markdown convention."""
    for heading in find_headings(text):
        if heading.level == 1:
            return heading.title
    return None
