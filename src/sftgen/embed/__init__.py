"""Text embeddings for dedup, profile normalisation, retrieval and the report.

`load_embedder()` returns the default static embedder (distilled once per machine into the user cache);
`shared_embedder(ctx)` gives the one instance a run shares between its steps. Heavy packages (model2vec,
torch) are imported only when an embedder is loaded, never at `import sftgen`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sftgen.embed.cache import DEFAULT_MODEL_NAME, cache_root, model_dir
from sftgen.embed.embedder import Embedder, load_embedder
from sftgen.embed.errors import EmbedderUnavailable

if TYPE_CHECKING:
    from sftgen.core.context import RunContext

SHARED_KEY = "sftgen.embed"


def shared_embedder(ctx: RunContext, cache_dir: Path | None = None) -> Embedder:
    """The run's one embedder, loaded on first use and kept in `ctx.shared`."""
    embedder = ctx.shared.get(SHARED_KEY)
    if embedder is None:
        embedder = ctx.shared[SHARED_KEY] = load_embedder(cache_dir)
    return embedder


__all__ = [
    "DEFAULT_MODEL_NAME", "Embedder", "EmbedderUnavailable", "cache_root", "load_embedder", "model_dir",
    "shared_embedder",
]
