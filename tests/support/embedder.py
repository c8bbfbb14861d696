"""The real embedder for tests, distilled once per machine into the shared user cache
($SFTGEN_CACHE_DIR or ~/.cache/sftgen), so the whole suite distils at most once."""

from __future__ import annotations

import pytest

from sftgen.embed import Embedder, load_embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder()
