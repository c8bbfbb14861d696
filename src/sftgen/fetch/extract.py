"""From a response's bytes and content type to clean main text (trafilatura for HTML, pypdf for PDF)."""

from __future__ import annotations

from dataclasses import dataclass

from sftgen.ingest.decoding import decode_text, normalise_whitespace
from sftgen.ingest.documents import UnreadableFile

KIND_BY_MEDIA_TYPE = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/plain": "text",
    "text/markdown": "text",
}
FORMAT_BY_KIND = {"html": "html", "pdf": "pdf", "text": "txt"}


class ExtractionFailed(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class CleanText:
    text: str
    title: str | None
    format: str


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def charset_of(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"').lower()
    return None


def needs_sniffing(content_type: str) -> bool:
    """No content type, or one that says nothing about the format."""
    return media_type(content_type) in ("", "application/octet-stream")


def kind_of(content_type: str, head: bytes) -> str | None:
    """html, pdf or text from the content type; sniffed from the first bytes when there is none."""
    if not needs_sniffing(content_type):
        return KIND_BY_MEDIA_TYPE.get(media_type(content_type))
    start = head.lstrip()[:64].lower()
    if start.startswith(b"%pdf"):
        return "pdf"
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def clean(raw: bytes, kind: str, content_type: str, url: str, max_pdf_pages: int | None = None) -> CleanText:
    # trafilatura and pypdf load with the first web page cleaned: a run that reads only local:// pages
    # (the local search) never needs them.
    from sftgen.ingest.html_reader import extract_main_text
    from sftgen.ingest.pdf_reader import PdfProblem, TooManyPages, extract_pdf_text

    if kind == "pdf":
        try:
            pdf = extract_pdf_text(raw, max_pdf_pages)
        except TooManyPages as exc:
            raise ExtractionFailed("too_many_pages", f"{url}: PDF: {exc}") from exc
        except PdfProblem as exc:
            raise ExtractionFailed("parse_error", f"{url}: PDF: {exc}") from exc
        return CleanText(pdf.text, pdf.title, "pdf")
    text = decode(raw, content_type, url)
    if kind == "html":
        page = extract_main_text(text)
        return CleanText(normalise_whitespace(page.text), page.title, "html")
    return CleanText(normalise_whitespace(text), None, "txt")


def decode(raw: bytes, content_type: str, url: str) -> str:
    charset = charset_of(content_type)
    if charset:
        try:
            return raw.decode(charset, errors="replace")
        except LookupError:
            pass  # an unknown charset name: guess as for a file
    try:
        text, _ = decode_text(raw, url)
    except UnreadableFile as exc:
        raise ExtractionFailed("parse_error", exc.detail) from exc
    return text
