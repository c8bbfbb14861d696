"""The project's text embedder: a static (model2vec) model, so encoding is a table lookup and a mean,
about ten thousand sentences a second on one core, with no torch at run time. It runs through
`StaticEncoder` (embed/static.py: the same rows without model2vec's import and per-call costs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sftgen.embed.cache import DEFAULT_MODEL_NAME, ensure_distilled
from sftgen.embed.errors import require

if TYPE_CHECKING:  # numpy loads with the first encode, not with `sftgen.embed.cache` (the dedup step's settings)
    import numpy as np


class Embedder:
    """`encode(texts)` -> float32 array, one L2-normalised row per text (a text with no known token
    gives a zero row), so a dot product is the cosine similarity."""

    def __init__(self, model, name: str):
        self.model = model
        self.name = name
        self.dim = int(model.dim)

    def encode(self, texts: list[str], batch_size: int = 1024) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Worker processes cost more than they save at our sizes, and must not start inside a run.
        vectors = self.model.encode(list(texts), batch_size=batch_size, use_multiprocessing=False)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dim={self.dim})"


def load_embedder(cache_dir: Path | None = None, name: str = DEFAULT_MODEL_NAME) -> Embedder:
    """Load the static embedder from the user cache, distilling it there first if needed (once per
    machine, about half a minute; needs torch). Raises EmbedderUnavailable naming sftgen[embed] when
    the packages are missing."""
    require("model2vec", "tokenizers", "safetensors", purpose="the embedder")
    folder = ensure_distilled(name, cache_dir)
    from sftgen.embed.static import StaticEncoder, Unsupported

    try:
        return Embedder(StaticEncoder(folder), name)
    except Unsupported:
        return Embedder(model2vec_model(folder), name)


def model2vec_model(folder: Path):
    """model2vec's own `StaticModel` of the folder (the reference `StaticEncoder` reproduces)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from model2vec import StaticModel

    return StaticModel.from_pretrained(folder)
