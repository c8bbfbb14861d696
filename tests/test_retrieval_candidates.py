"""A prompt's candidates, kept per page (the run's cuts, postings and vectors of each page text), are the
passages cutting each page anew gives, and they rank exactly as ranking their texts from scratch does; the
step keeps the passages that plain reading, cutting and ranking keep; a page read again is read as the
store holds it now."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sftgen.chunking.splitter import split_into_chunks
from sftgen.project import Project
from sftgen.records import Record, Status
from sftgen.answers.found_pages import EmittedRecords
from sftgen.retrieval import PassageCache, candidate_set, hybrid_rank, rank_candidates
from sftgen.retrieval.bm25 import bm25_scores, bm25_scores_of_pages, passage_terms, tokenize
from sftgen.retrieval.passage_cache import folded
from sftgen.steps.answer_retrieve import passage_record
from sftgen.store import ItemResult, Store
from tests.fakes.fake_openai_server import running_fake_server
from tests.support.answer_project import CORPUS, make_answer_project, run_answers, scores_reply, seed_prompts, template_of
from tests.support.embedder import embedder  # noqa: F401  (fixture)

WORDS = ["grid", "voltage", "Storage", "battery", "the", "of", "reserve", "frequency", "solar", "inverter", "peak",
         "load", "and", "\n\n", "  ", ".", "x"]


def cut_anew(pages: list[Record], size: int, overlap: int) -> list[tuple[str, str, int]]:
    """(text, page id, start) of each candidate, as cutting every page from scratch gives them."""
    seen, pages_cut, out = set(), set(), []
    for page in pages:
        if page.id in pages_cut:
            continue
        pages_cut.add(page.id)
        for chunk in split_into_chunks(page.text, size=size, overlap=overlap, unit="characters"):
            fold = folded(chunk.text)
            if fold and fold not in seen:
                seen.add(fold)
                out.append((chunk.text, page.id, chunk.start))
    return out


sections = st.lists(st.sampled_from(WORDS), min_size=0, max_size=30).map(" ".join)
page_texts = st.lists(sections, min_size=1, max_size=4)


@st.composite
def found_pages(draw) -> list[Record]:
    """Pages as a prompt's queries find them: some found twice, some sharing sections with others."""
    shared = draw(st.lists(sections, min_size=1, max_size=3))
    pages = []
    for _ in range(draw(st.integers(1, 6))):
        parts = draw(page_texts) + draw(st.lists(st.sampled_from(shared), max_size=2))
        parts = draw(st.permutations(parts))
        pages.append(Record(kind="document", text="\n\n".join(parts), origin=str(len(pages))))
    return pages + draw(st.lists(st.sampled_from(pages), max_size=3))


RUN_CACHE = PassageCache(limit=50)
"""Shared across examples, as the run's is across prompts (small: some pages' cuts are pushed out)."""


@settings(max_examples=300, deadline=None)
@given(pages=found_pages(), size=st.integers(20, 160), overlap=st.integers(0, 19), query=sections)
def test_candidates_are_the_pages_cut_anew_and_rank_as_their_texts_do(pages, size, overlap, query):
    for cache in (PassageCache(), RUN_CACHE):
        candidates = candidate_set(pages, size, overlap, cache)
        assert [(c.text, c.page.id, c.start) for c in candidates] == cut_anew(pages, size, overlap)
        assert candidates.lengths == [c.terms.length for c in candidates]
        texts = [c.text for c in candidates]
        assert rank_candidates(query, candidates, None, 5, cache) == hybrid_rank(query, texts, None, 5, PassageCache())
        if any(candidates.lengths):  # (no candidate with a token: every score is 0/0 there, nothing is ranked)
            tokens = tokenize([query])[0]
            from_pages = bm25_scores_of_pages(tokens, candidates.pages, candidates.lengths)
            assert from_pages.tobytes() == bm25_scores(tokens, passage_terms(texts)).tobytes()  # bm25s's, bit for bit


@settings(max_examples=60, deadline=None)
@given(pages=found_pages(), size=st.integers(20, 160), overlap=st.integers(0, 19), query=sections)
def test_candidates_rank_with_embeddings_as_their_texts_do(embedder, pages, size, overlap, query):  # noqa: F811
    candidates = candidate_set(pages, size, overlap, RUN_CACHE)
    texts = [c.text for c in candidates]
    assert rank_candidates(query, candidates, embedder, 5, RUN_CACHE) == hybrid_rank(query, texts, embedder, 5, PassageCache())


MIXED_CORPUS = {
    **CORPUS,
    # a page made of two others' sections: its passages repeat theirs, so a prompt finding both keeps one
    "overview.md": CORPUS["quarks.md"].split("\n\n# ")[0] + "\n\n" + CORPUS["gluons.md"],
    "short.md": "# Colour\n\nColour charge comes in three kinds: red, green and blue, plus their anti-colours. Quarks and gluons carry it.",
}


def plain_passages(store: Store, prompt: Record, size: int, overlap: int, top_k: int, encoder) -> list[Record]:
    """The passages of a prompt as reading each query's pages, cutting them and ranking their texts anew give."""
    pages, found_by = [], {}
    for query in store.emits.emitted_from("answer_queries", prompt.id, "query"):
        for page in store.emits.emitted_from("answer_search", query.id, "document"):
            pages.append(page)
            found_by.setdefault(page.id, query.id)
    candidates = cut_anew(pages, size, overlap)
    by_id = {page.id: page for page in pages}
    ranked = hybrid_rank(prompt.text, [text for text, _, _ in candidates], encoder, top_k, PassageCache())
    return [passage_record(prompt, by_id[candidates[hit.index][1]], candidates[hit.index][0],
                           candidates[hit.index][2], rank, hit, found_by[candidates[hit.index][1]])
            for rank, hit in enumerate(ranked, start=1)]


def test_the_step_keeps_the_passages_plain_cutting_and_ranking_keep(tmp_path, embedder):  # noqa: F811
    project = make_answer_project(tmp_path / "p", corpus=MIXED_CORPUS, queries_per_prompt=3, pages_per_query=3,
                                  passage_size=120, passage_overlap=20)
    prompts = seed_prompts(project, [
        ("How many quark flavours are there and what charges do quarks carry?", "quarks"),
        ("Why do gluons interact with each other, unlike photons?", "gluons"),
        ("What colour charges do quarks and gluons carry?", "quarks"),
        ("What are hadrons made of?", "quarks"),
    ])

    def script(step, body):
        if template_of(step, body) == "answer":
            return json.dumps({"answer": "Quarks come in six flavours [1]."})
        if template_of(step, body) == "answer_eval":
            return scores_reply(4)
        return None

    with running_fake_server() as server:
        server.script_steps(script)
        run_answers(project, server)

    store = Project.open(project).store()
    try:
        kept = {}
        for passage in store.records_of_kind("passage"):
            kept.setdefault(passage.meta["prompt_id"], []).append(passage)
        answers = Project.open(project).recipe.answers
        for prompt in prompts:
            expected = plain_passages(store, prompt, answers.passage_size, answers.passage_overlap,
                                      answers.passages_per_answer, embedder)
            assert len(expected) == answers.passages_per_answer
            got = sorted(kept[prompt.id], key=lambda p: p.meta["rank"])
            assert [(p.id, p.text, p.parent_ids, p.meta) for p in got] == \
                   [(p.id, p.text, p.parent_ids, p.meta) for p in expected]
    finally:
        store.close()


def test_a_page_read_again_is_read_as_the_store_holds_it_now(tmp_path):
    store = Store(tmp_path / "store.db", {"search": [], "other": []})
    page = Record(kind="document", text="Quarks come in six flavours.", meta={"title": "Quarks"})
    other = Record(kind="document", text="Gluons carry colour.", meta={"title": "Gluons"})
    store.commit_batch("search", "s", [ItemResult(item_id="query-1", outcome=Status.KEPT, outputs=[page, other]),
                                       ItemResult(item_id="query-2", outcome=Status.KEPT, outputs=[page])])
    memo = EmittedRecords()
    first = memo.emitted_from_many(store, "search", ["query-1", "query-2", "query-3"], "document")
    assert {query: [p.meta for p in found] for query, found in first.items()} == {
        "query-1": [{"title": "Quarks"}, {"title": "Gluons"}], "query-2": [{"title": "Quarks"}], "query-3": []}
    store.records.merge_meta(page.id, {"title": "Quarks, revised"})
    again = memo.emitted_from_many(store, "search", ["query-2", "query-1"], "document")
    plain = store.emits.emitted_from_many("search", ["query-2", "query-1"], "document")
    assert {q: [r.to_dict() for r in found] for q, found in again.items()} == \
           {q: [r.to_dict() for r in found] for q, found in plain.items()}
    assert again["query-2"][0].meta == {"title": "Quarks, revised"}
    assert again["query-1"][1] is first["query-1"][1]  # unchanged: not decoded again
    store.close()


def test_the_pages_held_stay_within_their_bound_and_are_read_right_all_the_same(tmp_path):
    store = Store(tmp_path / "store.db", {"search": []})
    pages = [Record(kind="document", text=f"page {n} " * 10, meta={"n": n}) for n in range(6)]
    store.commit_batch("search", "s", [ItemResult(item_id=f"query-{n}", outcome=Status.KEPT, outputs=pages[n:n + 3])
                                       for n in range(4)])
    memo = EmittedRecords(limit=4, characters=250)  # three pages' text
    for round_ in range(2):
        for query in (f"query-{n}" for n in range(4)):
            found = memo.emitted_from_many(store, "search", [query], "document")[query]
            assert [p.to_dict() for p in found] == [p.to_dict() for p in store.emits.emitted_from("search", query, "document")]
            assert len(memo.held) <= 4 and memo.held_characters <= 250
            assert memo.held_characters == sum(len(record.text) for _, record in memo.held.values())
    store.close()


def test_candidates_without_any_word_score_zero_not_nan():
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0 / 0 would warn
        scores = bm25_scores(tokenize(["heat engine"])[0], passage_terms(["", "  "]))
    assert scores.tolist() == [0.0, 0.0] and not np.isnan(scores).any()


@settings(max_examples=50, deadline=None)
@given(page_texts, st.integers(5, 40))
def test_a_page_sets_cuts_are_each_pages_cuts_made_once(texts, size):
    cache = PassageCache()
    ids = [f"page-{i}" for i in range(len(texts))]
    together = cache.cuts_of_pages(texts, size, 0, ids)
    assert [cuts.cuts for cuts in together] == [PassageCache().cuts(text, size, 0).cuts for text in texts]
    assert all(cache.cuts(text, size, 0, page_id) is cuts for text, page_id, cuts in zip(texts, ids, together))
    assert cache.cuts_of_pages(texts, size, 0, ids) == together  # held: the same objects again
