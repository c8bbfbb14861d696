"""Turn fetched pages into document records, or into side drops with their reasons.

Shared by the fresh-documents loop (`research`) and URL lists (`url_list`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sftgen.records import Record
from sftgen.steps.base import SideDrop

if TYPE_CHECKING:  # the fetch package loads httpx; pages come from it only when research runs
    from sftgen.fetch.page import FetchedPage
    from sftgen.research.near_duplicates import NearDuplicateIndex


def page_document(page: FetchedPage, parent: Record | None, meta: dict[str, Any]) -> Record:
    fields = {
        "source": page.url,
        "url": page.url,
        "final_url": page.final_url or page.url,
        "format": "md" if page.format == "md" else (page.format or "txt"),
        "title": page.title or page.url,
        **meta,
    }
    if parent is not None:
        return parent.child("document", page.text, meta=fields, origin=page.url)
    return Record(kind="document", text=page.text, meta=fields, origin=page.url)


def admit(document: Record, page: FetchedPage, index: NearDuplicateIndex | None, min_chars: int) -> SideDrop | None:
    """None when the page becomes a document (and joins the near-duplicate index); else why not."""
    if not page.ok:
        return SideDrop(page.url, page.reason or "unreachable", page.detail)
    if len(page.text) < min_chars:
        return SideDrop(page.url, "too_thin", f"{page.url}: {len(page.text)} characters of main text, "
                                              f"below research.fetch.min_text_chars ({min_chars})")
    if index is not None:
        duplicate = index.check_and_add(document.id, page.text)
        if duplicate is not None:
            other, similarity = duplicate
            return SideDrop(page.url, "near_duplicate",
                            f"{page.url}: nearly repeats document {other} (estimated Jaccard {similarity:.2f})")
    return None
