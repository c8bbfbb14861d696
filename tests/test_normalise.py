"""The normalised text dedup compares: case, composed forms, punctuation and whitespace do not count."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from sftgen.dedup.normalise import normalise, renormalised, shingles, word_shingles

SPACES = " \t\n\u00a0\u1680\u2000\u2028\u3000_"


def normalised_by_definition(text: str) -> str:
    """NFKC, case folded, every run of non-word characters (and underscores) one space, the ends trimmed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


unicode_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from(SPACES),
                       max_size=80)


@given(unicode_text)
def test_normalise_keeps_the_words_of_the_folded_text(text):
    assert normalise(text) == normalised_by_definition(text)


def test_case_accents_punctuation_and_spacing_do_not_count():
    assert normalise("  Straße,\tﬁne_CAFÉ!\u00a0x ") == normalise("strasse fine café x") == "strasse fine café x"


@given(unicode_text)
def test_words_normalised_again_are_what_normalising_their_text_gives(text):
    words = normalise(text).split()
    assert renormalised(words) == normalise(" ".join(words))
    assert word_shingles(renormalised(words).split(), 3) == shingles(" ".join(words), 3)
