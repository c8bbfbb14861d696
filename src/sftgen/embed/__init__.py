"""Text embeddings for dedup, profile normalisation, retrieval and the report.

`load_embedder()` returns the default static embedder (distilled once per machine into the user cache; a run
shares one, `RunServices.embedder()`). Heavy packages (model2vec, torch) are imported only when an embedder
is loaded, never at `import sftgen`.
"""

from __future__ import annotations

from sftgen.embed.cache import DEFAULT_MODEL_NAME, cache_root, model_dir
from sftgen.embed.embedder import Embedder, load_embedder
from sftgen.embed.errors import EmbedderUnavailable

__all__ = [
    "DEFAULT_MODEL_NAME", "Embedder", "EmbedderUnavailable", "cache_root", "load_embedder", "model_dir",
]
