"""Content agreement of two prompts, the check a semantic candidate pair must pass.

Prompts made from one template share most of their wording and differ in a content slot (another
subject, aspect or number), so their cosine similarity is high although they ask different things;
a paraphrase says the same content in other words. Agreement compares the words themselves: each
word of one text is matched to the most similar word of the other (1 for the same word, else the
cosine of the two words' static embeddings, 0 at worst), weighted by the word's IDF over the whole
prompt set, so rare words (names, numbers, terms) count most and words every prompt uses hardly at
all. The agreement of a pair is the lower of the two directions: a word present on one side only,
with no synonym on the other, pulls it down.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from sftgen.dedup.normalise import normalise


class ContentAgreement:
    def __init__(self, texts: Sequence[str], embedder):
        words = [sorted(set(normalise(text).split())) for text in texts]
        frequency = Counter(word for text_words in words for word in text_words)
        vocabulary = sorted(frequency)
        position = {word: i for i, word in enumerate(vocabulary)}
        count = max(len(texts), 1)
        # Smoothed IDF: a word in every text still weighs a little, a word in one text weighs most.
        self.idf = np.array([math.log((1 + count) / (1 + frequency[w])) + 1.0 for w in vocabulary], dtype=np.float32)
        self.vectors = embedder.encode(vocabulary) if vocabulary else np.zeros((0, 1), dtype=np.float32)
        self.word_ids = [np.array([position[w] for w in text_words], dtype=np.int64) for text_words in words]

    def __call__(self, a: int, b: int) -> float:
        ids_a, ids_b = self.word_ids[a], self.word_ids[b]
        if len(ids_a) == 0 or len(ids_b) == 0:
            return 1.0 if len(ids_a) == len(ids_b) else 0.0
        similarity = self.vectors[ids_a] @ self.vectors[ids_b].T
        similarity[ids_a[:, None] == ids_b[None, :]] = 1.0
        np.clip(similarity, 0.0, 1.0, out=similarity)
        forward = float(self.idf[ids_a] @ similarity.max(axis=1)) / float(self.idf[ids_a].sum())
        backward = float(self.idf[ids_b] @ similarity.max(axis=0)) / float(self.idf[ids_b].sum())
        return min(forward, backward)
