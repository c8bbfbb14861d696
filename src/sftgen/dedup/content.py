"""Content agreement of two prompts, the check a candidate duplicate pair must pass.

Prompts made from one template share most of their wording and differ in a content slot (another
subject, thing or number), so their cosine or shingle similarity is high although they ask different
things; a paraphrase says the same content in other words. Agreement compares the words themselves:
each word of one text is matched to the most similar word of the other (1 for the same word; with
word vectors, the cosine of the two words' static embeddings when it reaches SYNONYM_FLOOR; else 0).
Words are weighted by IDF over the whole prompt set, so rare words (names, terms) count
most and the wording every prompt shares hardly at all. Two texts with other numbers do not agree at
all: "in 7 years" and "in 8 years" ask different things. The agreement of a pair is the lower of the two
directions, so a rare word on one side only, with no synonym on the other, pulls it down.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from sftgen.dedup.normalise import normalise

SYNONYM_FLOOR = 0.5
FUNCTION_WORDS = frozenset("""
a an the and or but nor so yet if then than as of in on at to for from by with without about into onto over
under between among through during before after since until while within across against per via
i me my mine we us our you your he him his she her it its they them their this that these those there here
is are was were be been being am do does did done have has had having can could will would shall should may
might must what which who whom whose when where why how whether not no yes also too very just only all any
some each every both either neither such more most less least much many few other another own same
""".split())
"""Words that carry no content of their own: they never count for or against agreement (on a small
prompt set every word is rare, so IDF alone would weigh "their" like a name)."""


class ContentAgreement:
    def __init__(self, texts: Sequence[str], embedder=None):
        words = [sorted(set(normalise(text).split()) - FUNCTION_WORDS) for text in texts]
        frequency = Counter(word for text_words in words for word in text_words)
        vocabulary = sorted(frequency)
        position = {word: i for i, word in enumerate(vocabulary)}
        count = max(len(texts), 1)
        idf = np.array([math.log((1 + count) / (1 + frequency[w])) + 1.0 for w in vocabulary], dtype=np.float64)
        self.weight = idf
        self.vectors = None
        if embedder is not None and vocabulary:
            self.vectors = embedder.encode(vocabulary)
            self.vectors[[i for i, w in enumerate(vocabulary) if w.isdigit()]] = 0.0  # a number is no synonym
        self.word_ids = [np.array([position[w] for w in text_words], dtype=np.int64) for text_words in words]
        self.numbers = [numbers_of(text_words) for text_words in words]

    def __call__(self, a: int, b: int, substitutions_only: bool = False) -> float:
        """The lower of both directions; `substitutions_only`: the higher, so a word added on one side
        only (a filler, a qualifier) does not count, a word swapped for a non-synonym does."""
        if self.numbers[a] != self.numbers[b]:
            return 0.0
        ids_a, ids_b = self.word_ids[a], self.word_ids[b]
        if len(ids_a) == 0 or len(ids_b) == 0:
            return 1.0 if len(ids_a) == len(ids_b) else 0.0
        same = ids_a[:, None] == ids_b[None, :]
        if self.vectors is None:
            match = same.astype(np.float64)
        else:
            match = (self.vectors[ids_a] @ self.vectors[ids_b].T).astype(np.float64)
            match[match < SYNONYM_FLOOR] = 0.0
            match[same] = 1.0
        forward = float(self.weight[ids_a] @ match.max(axis=1)) / float(self.weight[ids_a].sum())
        backward = float(self.weight[ids_b] @ match.max(axis=0)) / float(self.weight[ids_b].sum())
        return max(forward, backward) if substitutions_only else min(forward, backward)


def numbers_of(words: Sequence[str]) -> frozenset[str]:
    return frozenset(word for word in words if word.isdigit())


def numbers_in(text: str) -> frozenset[str]:
    """The numbers of a text as words ("10-week" gives "10", "3.5" gives "3" and "5" after normalising)."""
    return numbers_of(normalise(text).split())
