"""How texts become BM25 terms: lower-cased words of two characters or more, without stop words and
question or request words, stemmed by the Snowball English stemmer (PyStemmer), so "watts" finds
"Watt" and "What is the unit of power in watts?" searches for "unit power watt". Documents and queries
go through the same function; an index built by another version of it must be rebuilt (INDEX_FORMAT in
local_bm25.py)."""

from __future__ import annotations

import re
from functools import lru_cache

import bm25s
from bm25s.stopwords import STOPWORDS_EN

QUESTION_WORDS = frozenset("""
what whats which who whom whose when where why how whether
do does did done doing can could would should shall may might must will
i me my mine we us our you your yours he him his she her they them their its
please explain describe tell give show list help know want need like
about some any also very just really much many more most than
""".split())
"""Words a question or request is made of and that say nothing about its subject; with bm25s's English
stop words they are left out of documents and queries alike."""

STOPWORDS = sorted(set(STOPWORDS_EN) | QUESTION_WORDS)
STOPWORD_SET = frozenset(STOPWORDS)
WORDS = re.compile(r"(?u)\b\w\w+\b")
"""bm25s.tokenize's default token pattern."""


@lru_cache(maxsize=1)
def english_stemmer():
    import Stemmer  # PyStemmer: C Snowball stemmers, in the `search` extra beside bm25s

    return Stemmer.Stemmer("english")


def bm25_terms(texts: list[str]) -> bm25s.tokenization.Tokenized:
    """bm25s token ids (stemmed, stop words out) of the texts."""
    return bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=english_stemmer(), show_progress=False)


def text_terms(text: str) -> list[str]:
    """The terms of one text, as `bm25_terms` gives them (the same words, stemmed, in the same order), without
    the batch machinery bm25s.tokenize sets up for each call: a query is tokenized per search."""
    words = [word for word in WORDS.findall(text.lower()) if word not in STOPWORD_SET]
    if not words:
        return []
    distinct = list(dict.fromkeys(words))
    stems = dict(zip(distinct, english_stemmer().stemWords(distinct)))
    return [stems[word] for word in words]
