"""The embedded default backend: BM25 over a folder or a JSONL file, hits as local:// URLs."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.search import SearchError
from sftgen.search.local_bm25 import LocalBM25Backend

TEXTS = {
    "quarks.md": "# Quark flavours\n\nThere are six quark flavours: up, down, strange, charm, bottom and top.",
    "gluons.txt": "Gluons carry colour charge and bind quarks together inside hadrons.",
    "lattice/qcd.md": "# Lattice QCD\n\nLattice QCD computes hadron masses on a grid of spacetime points.",
    "neutrinos.txt": "Neutrinos oscillate between flavours as they travel.",
}


@pytest.fixture
def corpus(tmp_path):
    for name, text in TEXTS.items():
        path = tmp_path / "corpus" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def search(backend, query, k=3):
    return asyncio.run(backend.search(query, k))


def test_the_right_document_ranks_first(corpus):
    backend = LocalBM25Backend(corpus / "corpus", corpus)
    hits = search(backend, "lattice computation of hadron masses")
    assert hits[0].url == "local://corpus/lattice/qcd.md"
    assert hits[0].title == "Lattice QCD" and hits[0].rank == 1 and hits[0].backend == "local"
    assert "hadron masses" in hits[0].snippet
    assert search(backend, "colour charge of gluons")[0].url == "local://corpus/gluons.txt"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_words_outside_the_corpus_give_no_hits(corpus):
    backend = LocalBM25Backend(corpus / "corpus", corpus)
    assert search(backend, "photosynthesis chlorophyll") == []
    assert len(search(backend, "flavours", k=1)) == 1


def test_jsonl_rows_are_documents(tmp_path):
    rows = [{"text": "Top quarks decay before they hadronise."}, {"text": "Pions are the lightest mesons."}]
    (tmp_path / "dump.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    backend = LocalBM25Backend(tmp_path / "dump.jsonl", tmp_path)
    assert search(backend, "lightest meson pions")[0].url == "local://dump.jsonl#L2"


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(SearchError, match="does not exist"):
        search(LocalBM25Backend(tmp_path / "nowhere", tmp_path), "quarks")


def test_the_index_is_kept_on_disk_until_the_corpus_changes(corpus):
    index_dir = corpus / ".sftgen" / "search-index"
    first = LocalBM25Backend(corpus / "corpus", corpus, index_dir=index_dir)
    expected = search(first, "lattice hadron masses")
    assert not first.loaded_from_disk and any(index_dir.iterdir())
    second = LocalBM25Backend(corpus / "corpus", corpus, index_dir=index_dir)
    assert search(second, "lattice hadron masses") == expected and second.loaded_from_disk
    (corpus / "corpus" / "new.txt").write_text("Glueballs are bound states of gluons alone.", encoding="utf-8")
    third = LocalBM25Backend(corpus / "corpus", corpus, index_dir=index_dir)
    assert search(third, "glueballs")[0].url == "local://corpus/new.txt" and not third.loaded_from_disk


ENCYCLOPEDIA = {
    "watt.md": "# Watt\n\nThe watt (symbol: W) is the SI unit of power, equal to one joule per second. It is named "
               "after James Watt. One watt is the rate of work done against a force of one newton at one metre per "
               "second; a light bulb's rating in watt terms says how much energy it uses.",
    "horsepower.md": "# Horsepower\n\nHorsepower is an older unit of power. One mechanical horsepower is about "
                     "745.7 watts. What an engine is rated at, and what counts as a horsepower, differs between "
                     "countries and standards.",
    "electric_power.md": "# Electric power\n\nElectric power is the rate at which a circuit transfers electrical "
                         "energy. Power stations, power lines and power grids carry it to homes.",
    "faq.md": "# Questions\n\nWhat is a unit? What is a measurement? What is energy? What is a force? What is "
              "the difference between them, and what is it used for?",
}


@pytest.fixture
def encyclopedia(tmp_path):
    (tmp_path / "corpus").mkdir()
    for name, text in ENCYCLOPEDIA.items():
        (tmp_path / "corpus" / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_question_in_the_plural_finds_the_article_in_the_singular(encyclopedia):
    backend = LocalBM25Backend(encyclopedia / "corpus", encyclopedia)
    hits = search(backend, "What is the unit of power in watts?")
    assert hits[0].url == "local://corpus/watt.md"
    assert "local://corpus/faq.md" not in [hit.url for hit in hits]  # "what is" alone finds nothing


def test_queries_lose_their_question_words_and_keep_their_stems():
    from sftgen.search.bm25_text import bm25_terms

    terms = bm25_terms(["What is the unit of power in watts?", "How do I explain why powers differ?"])
    words = {index: word for word, index in terms.vocab.items()}
    assert [[words[i] for i in ids] for ids in terms.ids] == [["unit", "power", "watt"], ["power", "differ"]]


def test_one_text_has_the_terms_a_batch_gives_it():
    from sftgen.search.bm25_text import bm25_terms, text_terms

    texts = ["What is the unit of power in watts?", "Watts, watt and WATTS: powers of the power station", "the of a",
             "Ünïcode naïve café ß straße", ""]
    terms = bm25_terms(texts)
    words = {index: word for word, index in terms.vocab.items()}
    assert [text_terms(text) for text in texts] == [[words[i] for i in ids] for ids in terms.ids]


SEARCH_WORDS = ["grid", "Grid", "voltage", "storage", "battery", "the", "of", "what", "reserve", "frequency",
                "x", "solar", "inverters", "inverter", "peak", "loads", "load", "is", "and"]
search_texts = st.lists(st.sampled_from(SEARCH_WORDS), min_size=0, max_size=30).map(" ".join)


def retrieved_by_bm25s(backend: LocalBM25Backend, query: str, k: int) -> list[tuple[str, str, str]]:
    """The hits as `bm25s.BM25.retrieve` ranks them (how search_now did it before scoring the query itself)."""
    from sftgen.search.bm25_text import bm25_terms
    from sftgen.search.local_bm25 import snippet

    query_tokens = bm25_terms([query])
    if not any(len(ids) for ids in query_tokens.ids):
        return []
    indices, scores = backend.retriever.retrieve(query_tokens, k=min(k, len(backend.documents)), show_progress=False)
    return [(backend.documents[int(i)].url, backend.documents[int(i)].title, snippet(backend.documents[int(i)].text, query))
            for i, score in zip(indices[0], scores[0]) if score > 0]


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(search_texts, min_size=1, max_size=20), queries=st.lists(search_texts, min_size=1, max_size=5),
       k=st.integers(1, 25))
def test_the_query_path_finds_what_a_bm25s_retrieve_finds_in_its_order_ties_included(tmp_path_factory, texts, queries, k):
    root = tmp_path_factory.mktemp("corpus")
    corpus = root / "corpus"
    corpus.mkdir()
    for index, text in enumerate(texts):
        (corpus / f"doc-{index:02d}.txt").write_text(text or "empty", encoding="utf-8")
    backend = LocalBM25Backend(corpus, root)
    backend.build_index()
    for query in queries:
        hits = backend.search_now(query, k)
        assert [(hit.url, hit.title, hit.snippet) for hit in hits] == retrieved_by_bm25s(backend, query, k)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["quark", "flavours", "gluons", "colour", "hadron", "masses", "lattice", "top",
                                 "neutrinos", "the", "of", "spacetime", "charge"]), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=5))
def test_hits_without_snippets_are_the_hits_with_them_less_the_snippet(tmp_path_factory, words, k):
    root = tmp_path_factory.mktemp("corpus")
    for name, text in TEXTS.items():
        path = root / "corpus" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    backend = LocalBM25Backend(root / "corpus", root)
    query = " ".join(words)
    with_snippets = search(backend, query, k)
    without = asyncio.run(backend.search(query, k, snippets=False))
    assert [(h.url, h.title, h.rank, h.backend) for h in without] == \
        [(h.url, h.title, h.rank, h.backend) for h in with_snippets]
    assert all(h.snippet == "" for h in without)
