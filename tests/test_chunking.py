"""Splitting text into chunks: sizes, overlap, offsets, heading paths, determinism."""

from __future__ import annotations

import random
import re

import pytest

from sftgen.chunking import Chunk, estimate_tokens, split_into_chunks

WORDS = "quark lepton boson gluon field charge spin mass energy photon hadron meson baryon".split()


def prose(paragraphs: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "\n\n".join(
        " ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))).capitalize() + "."
            for _ in range(rng.randint(2, 5))
        )
        for _ in range(paragraphs)
    )


MARKDOWN = """# Quarks

Quarks are elementary particles. They combine into hadrons.

## Flavours

There are six flavours: up, down, charm, strange, top and bottom.

```python
# not a heading: a comment inside a fenced code block
flavours = 6
```

{filler}

### Masses

The top quark is the heaviest. {filler}

## Colour
Colour charge comes in three kinds.

Confinement
-----------

Quarks are never seen alone. {filler}

# Leptons

Electrons, muons and taus, with their neutrinos.
""".replace("{filler}", "Flavour physics fills many books. " * 12)


def assert_offsets_map_back(text: str, chunks: list[Chunk]) -> None:
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert text[chunk.start : chunk.end] == chunk.text


def words_of(text: str) -> set[str]:
    return set(re.findall(r"\S+", text))


@pytest.mark.parametrize("markdown", [False, True])
@pytest.mark.parametrize("unit", ["characters", "tokens"])
def test_chunks_respect_the_size_and_map_back_to_the_text(unit, markdown):
    text = MARKDOWN if markdown else prose(30)
    size = 200 if unit == "characters" else 50
    chunks = split_into_chunks(text, size=size, overlap=size // 5, unit=unit, markdown=markdown)
    measure = len if unit == "characters" else estimate_tokens
    assert len(chunks) > 3
    assert all(0 < measure(chunk.text) <= size for chunk in chunks)
    assert_offsets_map_back(text, chunks)


def test_chunks_cover_the_whole_text_in_order():
    text = prose(30)
    chunks = split_into_chunks(text, size=300, overlap=60, unit="characters", markdown=False)
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for previous, following in zip(chunks, chunks[1:]):
        assert previous.start < following.start <= previous.end  # overlapping or adjacent
        assert previous.end < following.end


def test_consecutive_chunks_overlap_without_exceeding_the_overlap():
    text = prose(30)
    chunks = split_into_chunks(text, size=300, overlap=60, unit="characters", markdown=False)
    for previous, following in zip(chunks, chunks[1:]):
        shared = previous.end - following.start
        assert 0 < shared <= 60
        assert following.text[:shared] == previous.text[-shared:]


def test_overlap_in_tokens_is_measured_in_tokens():
    text = prose(30)
    chunks = split_into_chunks(text, size=80, overlap=20, unit="tokens", markdown=False)
    for previous, following in zip(chunks, chunks[1:]):
        assert previous.end > following.start
        assert estimate_tokens(text[following.start : previous.end]) <= 20


def test_no_overlap_means_adjacent_chunks():
    text = prose(20)
    chunks = split_into_chunks(text, size=250, overlap=0, unit="characters", markdown=False)
    for previous, following in zip(chunks, chunks[1:]):
        assert previous.end <= following.start
        assert text[previous.end : following.start].strip() == ""


def test_chunks_never_cut_a_word_that_fits():
    text = prose(30)
    for chunk in split_into_chunks(text, size=120, overlap=30, unit="characters", markdown=False):
        assert chunk.start == 0 or text[chunk.start - 1].isspace()
        assert chunk.end == len(text) or not text[chunk.end].isalpha()
        assert words_of(chunk.text) <= words_of(text)


def test_a_word_longer_than_the_size_is_cut():
    text = "short " + "x" * 50 + " tail"
    chunks = split_into_chunks(text, size=20, overlap=0, unit="characters", markdown=False)
    assert all(len(chunk.text) <= 20 for chunk in chunks)
    assert "".join(chunk.text for chunk in chunks).count("x") == 50


def test_offsets_are_characters_not_bytes():
    text = "Ünïcödé façade — naïve café. 日本語のテキストです。 😀 Emoji too. " * 30
    chunks = split_into_chunks(text, size=60, overlap=15, unit="characters", markdown=False)
    assert_offsets_map_back(text, chunks)


def test_markdown_heading_paths():
    chunks = split_into_chunks(MARKDOWN, size=160, overlap=30, unit="characters", markdown=True)
    assert_offsets_map_back(MARKDOWN, chunks)
    path_at = {chunk.text.splitlines()[0]: chunk.heading_path for chunk in chunks}
    assert chunks[0].heading_path == ["Quarks"]
    assert path_at["## Flavours"] == ["Quarks", "Flavours"]
    assert path_at["### Masses"] == ["Quarks", "Flavours", "Masses"]
    assert path_at["# Leptons"] == ["Leptons"]
    confinement = next(chunk for chunk in chunks if "never seen alone" in chunk.text)
    assert confinement.heading_path == ["Quarks", "Confinement"]  # a setext `---` heading is level 2
    all_titles = {title for chunk in chunks for title in chunk.heading_path}
    assert not any("not a heading" in title for title in all_titles)


def test_markdown_overlap_does_not_reach_back_across_a_heading():
    chunks = split_into_chunks(MARKDOWN, size=160, overlap=60, unit="characters", markdown=True)
    for previous, following in zip(chunks, chunks[1:]):
        shared = MARKDOWN[following.start : previous.end]
        assert "\n#" not in shared and "\n---" not in shared
        if following.text.startswith("#"):
            assert following.start >= previous.end  # a section's first chunk begins with its heading
    assert sum(chunk.text.startswith("## Colour") for chunk in chunks) == 1


def test_plain_text_has_no_heading_path():
    chunks = split_into_chunks(MARKDOWN, size=160, overlap=30, unit="characters", markdown=False)
    assert all(chunk.heading_path == [] for chunk in chunks)


def test_output_is_deterministic():
    def run():
        return split_into_chunks(MARKDOWN, size=120, overlap=25, unit="tokens", markdown=True)

    assert run() == run()


def test_small_text_is_one_chunk_and_blank_text_none():
    assert split_into_chunks("  Just one line.  ", size=100, overlap=10, unit="characters", markdown=False) == [
        Chunk(text="Just one line.", index=0, start=2, end=16, heading_path=[])
    ]
    assert split_into_chunks(" \n\n ", size=100, overlap=10, unit="characters", markdown=False) == []


@pytest.mark.parametrize(
    ("size", "overlap", "unit", "message"),
    [
        (0, 0, "characters", "size"),
        (-5, 0, "characters", "size"),
        (100, 100, "characters", "overlap"),
        (100, -1, "characters", "overlap"),
        (100, 10, "words", "unit"),
        (True, 0, "characters", "size"),
        (100.0, 0, "characters", "size"),
    ],
)
def test_invalid_arguments_are_refused(size, overlap, unit, message):
    with pytest.raises(ValueError, match=message):
        split_into_chunks("text", size=size, overlap=overlap, unit=unit, markdown=False)


def test_token_estimate():
    assert estimate_tokens("") == 0
    assert estimate_tokens("The quark, charmed.") == 5  # The / quark / , / charmed / .
    assert estimate_tokens("internationalization") == 3  # long words count as several tokens
    assert estimate_tokens("1234567") == 3
    assert estimate_tokens("日本語") == 3
