"""The relevance gate's encoder, whose rows for the chunks of a page of inputs are made in one call ahead
of use (chunk_filter encodes each page's chunks at once instead of one per reply). Each row of the static
embedder depends on its text alone (tests/test_embed_static.py pins a batch equal to one text at a time, bit
for bit), so a held row is the row `encode([text])` would have made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sftgen.core.page_memo import PageMemo

if TYPE_CHECKING:
    import numpy as np


class PreparedEncoder:
    def __init__(self, encoder):
        self.encoder = encoder
        self.held: PageMemo[str, np.ndarray] = PageMemo()

    def prepare(self, texts: list[str]) -> None:
        """Encode the texts in one call and hold their rows for the next `encode`s."""
        texts = list(dict.fromkeys(texts))
        rows = self.encoder.encode(texts) if texts else []
        self.held.hold(dict(zip(texts, rows)))

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        rows = [self.held.get(text) for text in texts]
        if texts and all(row is not None for row in rows):
            return np.stack(rows)
        return self.encoder.encode(texts)
