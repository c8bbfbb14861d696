"""Fetch and clean web pages (and local:// corpus documents) into text, with a reason for every refusal.

    async with make_fetcher(recipe, project_dir) as fetcher:
        page = await fetcher.fetch("https://example.org/a")
        page.ok, page.text, page.title, page.format, page.final_url
        page.reason, page.detail          # when refused: one of REFUSAL_REASONS
"""

from sftgen.fetch.fetcher import Fetcher, make_fetcher
from sftgen.fetch.page import REFUSAL_REASONS, FetchedPage

__all__ = ["REFUSAL_REASONS", "FetchedPage", "Fetcher", "make_fetcher"]
