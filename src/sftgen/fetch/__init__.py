"""Fetch and clean web pages (and local:// corpus documents) into text, with a reason for every refusal.

    async with make_fetcher(recipe, project_dir) as fetcher:
        page = await fetcher.fetch("https://example.org/a")
        page.ok, page.text, page.title, page.format, page.final_url
        page.reason, page.detail          # when refused: one of REFUSAL_REASONS

The names load on first use: `sftgen.fetch.redact` (used wherever a URL is recorded) must not pull in
httpx and trafilatura with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sftgen.fetch.fetcher import Fetcher, make_fetcher
    from sftgen.fetch.page import REFUSAL_REASONS, FetchedPage

__all__ = ["REFUSAL_REASONS", "FetchedPage", "Fetcher", "make_fetcher"]


def __getattr__(name: str):
    if name in ("Fetcher", "make_fetcher"):
        from sftgen.fetch import fetcher

        return getattr(fetcher, name)
    if name in ("REFUSAL_REASONS", "FetchedPage"):
        from sftgen.fetch import page

        return getattr(page, name)
    raise AttributeError(f"module 'sftgen.fetch' has no attribute {name!r}")
