"""The run's encoder (embed/static.py) gives, row for row and bit for bit, what model2vec's StaticModel gives
for the same distilled model: one text at a time or many at once, plain ASCII or not, short or cut."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sftgen.embed import load_embedder
from sftgen.embed.cache import ensure_distilled
from sftgen.embed.embedder import Embedder, model2vec_model
from sftgen.embed.static import StaticEncoder

TEXTS = [
    "What is a quark?", "How do gluons carry colour charge?", "", "   ", "!!!", "x" * 5000,
    "Baryons are made of three quarks; mesons of a quark and an antiquark.\n\nConfinement keeps them bound.",
    "tabs\tand\nnewlines\r\nand  double  spaces", "Ünïcode café naïve", "中文字符 and 日本語", "\x00ctrl\x07 chars\x7f",
    "The up quark's mass is about 2.2 MeV/c² — small.", "ÀÉÎÕÜ ß ﬁ ligature", "emoji 🧪 in text", "a" * 40,
    "Quarks " * 700,  # longer than max_length tokens: truncated
]


@pytest.fixture(scope="module")
def pair() -> tuple[Embedder, Embedder]:
    folder = ensure_distilled()
    return Embedder(StaticEncoder(folder), "ours"), Embedder(model2vec_model(folder), "model2vec")


def test_the_run_loads_the_static_encoder():
    assert isinstance(load_embedder().model, StaticEncoder)


def test_rows_equal_model2vecs_in_a_batch_and_one_at_a_time(pair):
    ours, reference = pair
    expected = reference.encode(TEXTS)
    assert np.array_equal(ours.encode(TEXTS), expected)
    one_by_one = np.stack([ours.encode([text])[0] for text in TEXTS])
    assert np.array_equal(one_by_one, expected)
    assert np.array_equal(ours.encode(TEXTS, batch_size=3), expected)


def test_plain_ascii_tokenizes_as_the_bert_normaliser_does(pair):
    ours, _ = pair
    model = ours.model
    assert model.plain_tokenizer is not None
    texts = [text for text in TEXTS if text.isascii() and "\x00" not in text and "\x07" not in text]
    plain = [e.ids for e in model.plain_tokenizer.encode_batch_fast([t.lower() for t in texts], add_special_tokens=False)]
    full = [e.ids for e in model.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
    assert plain == full


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=200),
                          st.text(max_size=120)), min_size=1, max_size=6))
def test_any_texts_encode_as_model2vec_encodes_them(pair, texts):
    ours, reference = pair
    assert np.array_equal(ours.encode(texts), reference.encode(texts))
