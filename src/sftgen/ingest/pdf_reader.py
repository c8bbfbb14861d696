"""Text of a PDF, page by page (pypdf)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdf
from pypdf import PasswordType

from sftgen.ingest.decoding import normalise_whitespace

PAGE_SEPARATOR = "\n\n"


class PdfProblem(Exception):
    """The PDF cannot be read: encrypted with a password, or broken."""


class TooManyPages(PdfProblem):
    """The PDF has more pages than the recipe allows (sources.max_pdf_pages): none is extracted."""


@dataclass
class ExtractedPdf:
    text: str
    title: str | None
    page_count: int
    # Offset in `text` where each page starts, so a chunk can be traced back to its page.
    page_offsets: list[int]


def extract_pdf_text(raw: bytes, max_pages: int | None = None) -> ExtractedPdf:
    """Join the normalised text of every page with a blank line; raise PdfProblem when unreadable, and
    TooManyPages, before extracting any page, when it has more than `max_pages`."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(raw))
        _unlock(reader)
        count = len(reader.pages)
        if max_pages is not None and count > max_pages:
            raise TooManyPages(f"{count} pages, over the limit of {max_pages} (sources.max_pdf_pages)")
        page_texts = [page.extract_text() or "" for page in reader.pages]
        title = _title(reader)
    except PdfProblem:
        raise
    except Exception as error:  # pypdf raises many types on broken files
        raise PdfProblem(f"{type(error).__name__}: {error}") from error
    return _join_pages(page_texts, title)


def _unlock(reader: pypdf.PdfReader) -> None:
    """Open PDFs that are encrypted with an empty user password (only owner-restricted)."""
    if not reader.is_encrypted:
        return
    if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise PdfProblem("encrypted with a password")


def _title(reader: pypdf.PdfReader) -> str | None:
    metadata = reader.metadata
    title = metadata.title if metadata is not None else None
    if isinstance(title, str) and title.strip():
        return title.strip()
    return None


def _join_pages(page_texts: list[str], title: str | None) -> ExtractedPdf:
    """Normalise each page, then join, so the page offsets stay true in the final text.

    An empty page adds no separator; its offset is the length of the text before it.
    """
    text = ""
    page_offsets: list[int] = []
    for page_text in page_texts:
        page_text = normalise_whitespace(page_text)
        if page_text and text:
            text += PAGE_SEPARATOR
        page_offsets.append(len(text))
        text += page_text
    return ExtractedPdf(text=text, title=title, page_count=len(page_texts), page_offsets=page_offsets)

