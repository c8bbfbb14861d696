"""The search backend and the fetcher one run shares between the answer steps' items (one BM25 index
built once, one set of per-host limits and one page cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sftgen.fetch import Fetcher
    from sftgen.search import SearchBackend
    from sftgen.core.context import RunContext

SHARED_KEY = "sftgen.answers.web"


def answer_search_backend(ctx: RunContext) -> SearchBackend:
    from sftgen.search import make_search_backend

    key = f"{SHARED_KEY}.search"  # one value per key: the runner closes each at the end of the run
    if key not in ctx.shared:
        ctx.shared[key] = make_search_backend(ctx.recipe, ctx.project_dir, backend=ctx.recipe.answers.search_backend)
    return ctx.shared[key]


def answer_fetcher(ctx: RunContext) -> Fetcher:
    from sftgen.fetch import make_fetcher

    key = f"{SHARED_KEY}.fetch"
    if key not in ctx.shared:
        ctx.shared[key] = make_fetcher(ctx.recipe, ctx.project_dir)
    return ctx.shared[key]
