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

Only the texts of compared pairs are read: the document frequencies of the whole set may be given (the
dedup index keeps those of the prompts kept before, sftgen.dedup.index), and a word's vector is encoded
when a pair first needs it (`prepare` encodes the words of many texts in one call). A word's vector does not
depend on the other words encoded with it, so the agreement of a pair is the same as with the whole
vocabulary encoded at once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

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


def content_words(text: str) -> tuple[str, ...]:
    """The distinct words of a text that can carry content, sorted."""
    return tuple(sorted(set(normalise(text).split()) - FUNCTION_WORDS))


def document_frequency(word_lists: Iterable[Sequence[str]]) -> Counter:
    return Counter(word for words in word_lists for word in words)


class ContentAgreement:
    """`agreement(a, b)` for texts a and b of `texts`. `frequency`: in how many of `texts` each content word
    occurs (counted here over all of them when not given); `words`: the content words of a text by index,
    where known (else read from the text on first use)."""

    def __init__(self, texts: Sequence[str], embedder=None, frequency: Counter | None = None, words=None):
        self.texts = texts
        self.embedder = embedder
        self.known_words = words
        self.text_words: dict[int, tuple[str, ...]] = {}
        self.count = max(len(texts), 1)
        self.frequency = frequency if frequency is not None else document_frequency(
            self.words(i) for i in range(len(texts)))
        self.word_vectors: dict[str, np.ndarray] = {}
        self.prepared: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None, frozenset[str]]] = {}

    def words(self, index: int) -> tuple[str, ...]:
        words = self.text_words.get(index)
        if words is None:
            known = self.known_words(index) if self.known_words is not None else None
            words = known if known is not None else content_words(self.texts[index])
            self.text_words[index] = words
        return words

    def prepare(self, indices: Iterable[int]) -> None:
        """Encode, in one call, the words of these texts that have no vector yet."""
        if self.embedder is None:
            return
        missing = sorted({w for i in indices for w in self.words(i) if w not in self.word_vectors})
        if not missing:
            return
        vectors = self.embedder.encode(missing)
        for word, vector in zip(missing, vectors):
            self.word_vectors[word] = np.zeros_like(vector) if word.isdigit() else vector  # a number is no synonym

    def parts(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, frozenset[str]]:
        """A text's words, their weights (IDF) and vectors (rows in word order), and its numbers."""
        parts = self.prepared.get(index)
        if parts is None:
            words = self.words(index)
            weight = np.array([math.log((1 + self.count) / (1 + self.frequency[w])) + 1.0 for w in words],
                              dtype=np.float64)
            vectors = None
            if self.embedder is not None and words:
                self.prepare([index])
                vectors = np.stack([self.word_vectors[w] for w in words])
            parts = (np.array(words, dtype=str), weight, vectors, numbers_of(words))
            self.prepared[index] = parts
        return parts

    def __call__(self, a: int, b: int, substitutions_only: bool = False) -> float:
        """The lower of both directions; `substitutions_only`: the higher, so a word added on one side
        only (a filler, a qualifier) does not count, a word swapped for a non-synonym does."""
        words_a, weight_a, vectors_a, numbers_a = self.parts(a)
        words_b, weight_b, vectors_b, numbers_b = self.parts(b)
        if numbers_a != numbers_b:
            return 0.0
        if len(weight_a) == 0 or len(weight_b) == 0:
            return 1.0 if len(weight_a) == len(weight_b) else 0.0
        same = words_a[:, None] == words_b[None, :]
        if vectors_a is None:
            match = same.astype(np.float64)
        else:
            match = (vectors_a @ vectors_b.T).astype(np.float64)
            match[match < SYNONYM_FLOOR] = 0.0
            match[same] = 1.0
        forward = float(weight_a @ match.max(axis=1)) / float(weight_a.sum())
        backward = float(weight_b @ match.max(axis=0)) / float(weight_b.sum())
        return max(forward, backward) if substitutions_only else min(forward, backward)


def numbers_of(words: Sequence[str]) -> frozenset[str]:
    return frozenset(word for word in words if word.isdigit())


def numbers_in(text: str) -> frozenset[str]:
    """The numbers of a text as words ("10-week" gives "10", "3.5" gives "3" and "5" after normalising)."""
    return numbers_of(normalise(text).split())
