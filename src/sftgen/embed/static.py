"""Encoding with the distilled static model without going through model2vec's `StaticModel` at run time.

Loading `model2vec` imports huggingface_hub and its model cards (about half a second of CPU per run), and
each `StaticModel.encode` call spends as much again around the tokenizer as in it (a progress bar, batch
lists, setting and resetting the truncation). `StaticEncoder` reads the same three files (tokenizer.json,
model.safetensors, config.json) with `tokenizers` and `safetensors` and computes what `StaticModel.encode`
computes, step by step in the same numpy operations, so each row is bit-identical to model2vec's (pinned in
tests/test_embed_static.py):

  cut each text to max_length * median token length characters; tokenize without special tokens, truncated
  to max_length tokens; drop the unknown token; the mean of the token vectors (per group of equal length,
  in the table's dtype); normalised in float32 and cast back to the table's dtype.

A text of printable ASCII (with tabs and newlines) is lowercased by `str.lower` and tokenized by a copy of
the tokenizer without a normaliser: on such text the BERT normaliser's other parts (control characters,
accents, Chinese characters, whitespace other than tabs and newlines, which BERT's pre-tokenizer splits on
as on spaces) have nothing to do, and it cost a third of the tokenizing. A folder this does not cover (vocabulary quantization, token weights) is loaded by model2vec."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MAX_LENGTH = 512
PLAIN_ASCII = re.compile(r"[\x20-\x7e\t\n\r]*")
"""Texts the lowercasing tokenizer gives the same tokens for as the BERT normaliser."""


class Unsupported(Exception):
    """The folder holds a model this encoder does not reproduce; model2vec loads it instead."""


class StaticEncoder:
    """`encode(texts)` -> one row per text, as model2vec's `StaticModel.encode(texts)` gives it."""

    def __init__(self, folder: Path):
        import numpy as np
        from safetensors import safe_open
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        with safe_open(str(folder / "model.safetensors"), framework="numpy") as tensors:
            names = set(tensors.keys())
            if names != {"embeddings"}:  # weights / mapping: a quantized vocabulary
                raise Unsupported(f"tensors {sorted(names)}")
            self.embedding = tensors.get_tensor("embeddings")
        if self.embedding.dtype not in (np.float16, np.float32) or config.get("pooling", "mean") != "mean":
            raise Unsupported(f"dtype {self.embedding.dtype}, pooling {config.get('pooling')}")
        spec_text = (folder / "tokenizer.json").read_text(encoding="utf-8")
        spec = json.loads(spec_text)
        tokenizer = Tokenizer.from_str(spec_text)
        vocab = tokenizer.get_vocab()
        if len(vocab) != len(self.embedding):
            raise Unsupported(f"{len(vocab)} tokens, {len(self.embedding)} vectors")
        self.max_length = config.get("max_length", DEFAULT_MAX_LENGTH)
        self.normalize = bool(config.get("normalize", False))
        self.dim = int(self.embedding.shape[1])
        self.median_token_length = int(np.median([len(token) for token in vocab]))  # in any order
        self.tokenizer = prepared(tokenizer, self.max_length)
        self.unk_token_id = unknown_id(self.tokenizer, spec)
        self.plain_tokenizer = None
        if is_bert_lowercasing(spec):
            self.plain_tokenizer = prepared(Tokenizer.from_str(spec_text), self.max_length)
            self.plain_tokenizer.normalizer = None  # the texts come lowercased (`str.lower` is exact on ASCII)

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        if self.max_length is not None:
            cut = self.max_length * self.median_token_length
            texts = [text[:cut] for text in texts]
        if self.plain_tokenizer is None:
            groups = [(self.tokenizer, list(range(len(texts))))]
        else:
            plain = [PLAIN_ASCII.fullmatch(text) is not None for text in texts]
            groups = [(self.plain_tokenizer, [i for i, p in enumerate(plain) if p]),
                      (self.tokenizer, [i for i, p in enumerate(plain) if not p])]
        ids: list[list[int]] = [[] for _ in texts]
        for tokenizer, indices in groups:
            if not indices:
                continue
            group = [texts[i] for i in indices]
            if tokenizer is self.plain_tokenizer:
                group = [text.lower() for text in group]
            for index, encoding in zip(indices, tokenizer.encode_batch_fast(group, add_special_tokens=False)):
                ids[index] = encoding.ids
        if self.unk_token_id is not None:
            unknown = self.unk_token_id
            ids = [[token for token in row if token != unknown] for row in ids]
        return ids

    def encode(self, texts: list[str], batch_size: int = 1024, **_ignored) -> np.ndarray:
        import numpy as np

        rows = [self.encode_batch(texts[start:start + batch_size]) for start in range(0, len(texts), batch_size)]
        return np.concatenate(rows, axis=0) if rows else np.zeros((0, self.dim), dtype=self.embedding.dtype)

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        ids = self.token_ids(texts)
        out = np.zeros((len(ids), self.dim), dtype=self.embedding.dtype)
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(ids):
            if row:
                buckets[len(row)].append(i)
        for indices in buckets.values():
            out[indices] = self.embedding[np.array([ids[i] for i in indices], dtype=np.int64)].mean(axis=1)
        if self.normalize:
            out32 = out.astype(np.float32)
            norm = np.linalg.norm(out32, axis=1, keepdims=True) + 1e-32
            return (out32 / norm).astype(out.dtype)
        return out


def prepared(tokenizer, max_length: int | None):
    """Padding off (its pad token kept) and truncation at max_length, as model2vec sets them."""
    padding = tokenizer.padding
    if padding is not None:
        tokenizer.enable_padding(pad_id=padding["pad_id"], pad_token=padding["pad_token"],
                                 pad_type_id=padding["pad_type_id"], length=0)
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length)
    return tokenizer


def unknown_id(tokenizer, spec: dict) -> int | None:
    model = tokenizer.model
    if hasattr(model, "unk_token"):
        return None if model.unk_token is None else tokenizer.token_to_id(model.unk_token)
    return spec["model"].get("unk_id")


def is_bert_lowercasing(spec: dict) -> bool:
    """The BERT normaliser with lowercasing, before BERT's pre-tokenizer (splitting on whitespace and
    punctuation): the setting under which plain ASCII needs only the lowercasing."""
    normalizer, pre = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}
    return (normalizer.get("type") == "BertNormalizer" and normalizer.get("lowercase") is True
            and normalizer.get("strip_accents") in (None, True) and pre.get("type") == "BertPreTokenizer")
