"""Turn fetched pages into document records, or into side drops with their reasons.

Shared by the fresh-documents loop (`research`) and URL lists (`url_list`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sftgen.fetch.redact import redact_url, redact_urls_in
from sftgen.records import Record
from sftgen.research.near_duplicates import SIGNATURE_KEY, NearDuplicateIndex, encode_signature, minhash_of
from sftgen.core.step import SideDrop

if TYPE_CHECKING:  # the fetch package loads httpx; pages come from it only when research runs
    from sftgen.fetch.page import FetchedPage


def page_document(page: FetchedPage, parent: Record | None, meta: dict[str, Any]) -> Record:
    """A document of the page; its URLs and title are redacted (no user info, no secret parameters)."""
    url = redact_url(page.url)
    fields = {
        "source": url,
        "url": url,
        "final_url": redact_url(page.final_url or page.url),
        "format": "md" if page.format == "md" else (page.format or "txt"),
        "title": redact_urls_in(page.title or url),
        **meta,
    }
    if parent is not None:
        return parent.child("document", page.text, meta=fields, origin=url)
    return Record(kind="document", text=page.text, meta=fields, origin=url)


def admit(document: Record, page: FetchedPage, index: NearDuplicateIndex | None, min_chars: int) -> SideDrop | None:
    """None when the page becomes a document (and joins the near-duplicate index, its signature kept in
    its meta so later runs need not make it again); else why not."""
    if not page.ok:
        return SideDrop(page.url, page.reason or "unreachable", page.detail)
    if len(page.text) < min_chars:
        return SideDrop(page.url, "too_thin", f"{page.url}: {len(page.text)} characters of main text, "
                                              f"below research.fetch.min_text_chars ({min_chars})")
    if index is not None:
        signature = minhash_of(page.text)
        document.meta[SIGNATURE_KEY] = encode_signature(signature)
        duplicate = index.check_and_add(document.id, signature=signature)
        if duplicate is not None:
            other, similarity = duplicate
            return SideDrop(page.url, "near_duplicate",
                            f"{page.url}: nearly repeats document {other} (estimated Jaccard {similarity:.2f})")
    return None
