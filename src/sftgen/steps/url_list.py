"""URL lists (`research.url_lists`): text files with one URL a line, fetched and
cleaned like research pages and emitted as documents. Blank lines and lines starting with # are skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sftgen.fetch.redact import redact_url
from sftgen.research.budget import research_budget
from sftgen.research.pages import admit, page_document
from sftgen.records import stable_hash
from sftgen.core.step import Outcome, SourceItem, SourceStep, drop, keep
from sftgen.core.context import ItemContext, RunContext

class UrlListStep(SourceStep):
    """Fetch the URLs listed in research.url_lists as documents."""

    name = "url_list"
    produces = "document"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        research = ctx.recipe.research
        return {"fetch": research.fetch.model_dump(), "allow_private": research.allow_private_addresses,
                "near_duplicate_threshold": research.near_duplicate_threshold}

    def concurrency(self, ctx: RunContext) -> int:
        return ctx.recipe.research.fetch.concurrency

    def discover(self, ctx: RunContext) -> Iterator[SourceItem]:
        for list_name in ctx.recipe.research.url_lists:
            path = ctx.project_dir / list_name
            if not path.is_file():
                raise FileNotFoundError(f"research.url_lists: '{list_name}' does not exist: {path}")
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                url = line.strip()
                if not url or url.startswith("#"):
                    continue
                shown = redact_url(url)  # ids and labels are stored: no user info, no secret parameters
                yield SourceItem(id=f"url_{stable_hash('url', shown)}", label=shown, fingerprint="1",
                                 payload=(url, f"{list_name}:{number}"))

    async def read(self, source: SourceItem, ctx: ItemContext) -> Outcome:
        url, where = source.payload
        if not url.startswith(("http://", "https://")):
            return drop("bad_url", f"{where}: {redact_url(url)!r} is not an http(s) URL")
        page = await ctx.run.services.fetcher().fetch(url)
        document = page_document(page, None, {"url_list": where})
        index = research_budget(ctx.run).near_duplicates
        problem = admit(document, page, index, ctx.recipe.research.fetch.min_text_chars)
        if problem is not None:
            return drop(problem.reason, problem.detail)
        return keep(document)
