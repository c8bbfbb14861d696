"""Main text of an HTML page, without navigation and other boilerplate.

trafilatura parses the given string only; it fetches nothing (no network).
Paragraphs come out one per line.
"""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura


@dataclass
class ExtractedPage:
    text: str
    title: str | None
    url: str | None


def extract_main_text(html: str) -> ExtractedPage:
    """Extract the page's main text, title and canonical URL; text is '' if nothing remains.

    A first pass uses trafilatura's balanced defaults; when it finds nothing, a second pass
    favours recall, so pages that are little more than their main text still give something.
    """
    for favor_recall in (False, True):
        extracted = trafilatura.bare_extraction(
            html,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_recall=favor_recall,
        )
        page = _as_page(extracted)
        if page.text.strip():
            return page
    return ExtractedPage(text="", title=page.title, url=page.url)


def _as_page(extracted) -> ExtractedPage:
    if extracted is None:
        return ExtractedPage(text="", title=None, url=None)
    # trafilatura >= 2 returns a Document object, older versions a dict.
    fields = extracted if isinstance(extracted, dict) else extracted.as_dict()
    return ExtractedPage(
        text=fields.get("text") or "",
        title=_clean(fields.get("title")),
        url=_clean(fields.get("url")),
    )


def _clean(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None
