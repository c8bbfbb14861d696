"""Search backends behind one interface: `await backend.search(query, k) -> list[SearchHit]`.

    backend = make_search_backend(recipe, project_dir)   # research.backend: local | searxng | brave | duckduckgo
    hits = await backend.search("quark confinement", k=5)
    await backend.aclose()

`local` hits are `local://<path>` URLs; `sftgen.fetch.Fetcher` reads them from disk.
"""

from sftgen.search.base import SearchBackend, SearchError, SearchHit
from sftgen.search.factory import make_search_backend
from sftgen.search.local_bm25 import LOCAL_SCHEME

__all__ = ["LOCAL_SCHEME", "SearchBackend", "SearchError", "SearchHit", "make_search_backend"]
