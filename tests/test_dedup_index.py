"""The dedup index (sftgen.dedup.index): a run reads of the prompts kept before only what it compares, and
decides exactly what a run from scratch over the same prompts decides, batch after batch, through
withdrawals and redone prompts; the stored word counts stay those of the kept prompts."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from sftgen.dedup import find_duplicates
from sftgen.dedup.content import content_words
from sftgen.dedup.core import check_new
from sftgen.dedup.corpus import Corpus, as_kept
from sftgen.dedup.index import DedupIndex, halve_vectors, row_of
from sftgen.dedup.normalise import normalise
from sftgen.recipe.dedup_settings import Dedup
from sftgen.records import stable_hash
from tests.support.embedder import embedder  # noqa: F401  (session fixture)

SUBJECTS = ["the strange quark", "sourdough starters", "index fund investing", "tomato blight", "React hooks",
            "lattice QCD", "mortgage refinancing", "drip irrigation", "colour confinement", "CORS policies"]
FRAMES = [
    "What are the main risks of {s} for a small team?",
    "For a small team, what are the biggest risks of {s}?",
    "Explain how {s} works to a complete beginner.",
    "How does {s} work? Explain it to someone who is new to it.",
    "Give three common mistakes people make with {s} in 2024.",
    "Give three common mistakes people make with {s} in 2025.",
]
POOL = sorted({variant for s in SUBJECTS for frame in FRAMES for variant in (
    frame.format(s=s),                                   # a base
    frame.format(s=s).upper().replace("?", " ?"),        # an exact copy
    frame.format(s=s).replace("main", "really main").replace("three", "three quick"),  # a near copy
)})
SETTINGS = [
    Dedup(),
    Dedup(near_threshold=0.5, semantic_threshold=0.75, content_threshold=0.6),
    Dedup(methods=["semantic", "near", "exact"], semantic_threshold=0.8),
    Dedup(content_check=False, semantic_threshold=0.85),
    Dedup(methods=["exact", "near"], shingle_words=1, near_threshold=0.6),
    Dedup(verifier="llm", verifier_max_pairs=None),
]


def prompt_id(text: str) -> str:
    return f"pro_{stable_hash(text)}"


def decisions(report) -> dict:
    return {index: (d.of, d.method, d.similarity) for index, d in report.duplicates.items()}


def questions(report) -> list:
    return [(q.index, [(c.other, c.cosine, c.score) for c in q.candidates]) for q in report.questions]


batches = st.lists(
    st.tuples(st.lists(st.sampled_from(POOL), min_size=1, max_size=25, unique=True),  # the batch's new prompts
              st.lists(st.integers(0, 10_000), max_size=3)),                           # kept prompts withdrawn after it
    min_size=2, max_size=4,
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches, settings=st.sampled_from(SETTINGS))
def test_incremental_runs_decide_as_runs_from_scratch(embedder, batches, settings):
    kept: list[tuple[str, str]] = []  # (id, text) in the order the step passed them on
    with tempfile.TemporaryDirectory() as folder:
        for new_texts, withdrawn in batches:
            new = sorted({(prompt_id(t), t) for t in new_texts})
            new_ids = {i for i, _ in new}
            anchors = [(i, t) for i, t in kept if i not in new_ids]  # a prompt in the batch again is redone
            texts = [t for _, t in anchors] + [t for _, t in new]

            from_scratch = find_duplicates(texts, len(anchors), settings, embedder)
            index = DedupIndex(Path(folder), settings, embedder)
            features = index.anchor_features([i for i, _ in anchors], [t for _, t in anchors])
            corpus = Corpus(texts, len(anchors), settings, embedder, features)
            incremental = check_new(corpus, settings)
            assert decisions(incremental) == decisions(from_scratch)
            assert questions(incremental) == questions(from_scratch)

            kept_now = [i for i in range(len(anchors), len(texts)) if i not in incremental.duplicates]
            index.add([row_of(new[i - len(anchors)][0], texts[i], *corpus.new_features(i)) for i in kept_now])
            stored = Counter(dict(index.db.execute("SELECT word, n FROM frequency")))
            index.close()
            kept = anchors + [new[i - len(anchors)] for i in kept_now]
            assert stored == Counter(w for _, t in kept for w in content_words(t))
            for position in sorted({w % len(kept) for w in withdrawn}, reverse=True):
                del kept[position]


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to encode."""

    def __init__(self, embedder):
        self.embedder, self.name, self.dim = embedder, embedder.name, embedder.dim
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return self.embedder.encode(texts)


def test_only_new_prompts_are_embedded_once_the_kept_ones_are_in_the_index(tmp_path, embedder):
    settings = Dedup()
    first = [frame.format(s=s) for s in SUBJECTS[:5] for frame in FRAMES]
    index = DedupIndex(tmp_path, settings, embedder)
    corpus = Corpus(first, 0, settings, embedder, index.anchor_features([], []))
    report = check_new(corpus, settings)
    index.add([row_of(prompt_id(first[i]), first[i], *corpus.new_features(i))
               for i in range(len(first)) if i not in report.duplicates])
    index.close()
    kept = [t for i, t in enumerate(first) if i not in report.duplicates]

    counting = CountingEmbedder(embedder)
    added = ["Why can free quarks never be observed in a detector?", FRAMES[0].format(s=SUBJECTS[0]).upper()]
    index = DedupIndex(tmp_path, settings, counting)
    features = index.anchor_features([prompt_id(t) for t in kept], kept)
    report = check_new(Corpus(kept + added, len(kept), settings, counting, features), settings)
    index.close()
    assert report.duplicates[len(kept) + 1].of == kept.index(FRAMES[0].format(s=SUBJECTS[0]))
    # The exact copy went before embedding; of the kept prompts only compared ones' words were encoded.
    sentences = [t for t in counting.encoded if " " in t]
    assert sentences == [added[0]]


def test_an_index_sqlite_cannot_read_is_built_again(tmp_path, embedder):
    (tmp_path / "anchors.db").write_bytes(b"not a database" * 100)
    texts = [frame.format(s=SUBJECTS[1]) for frame in FRAMES]
    index = DedupIndex(tmp_path, Dedup(), embedder)
    features = index.anchor_features([prompt_id(t) for t in texts], texts)
    index.close()
    assert features.keys == [normalise(t) for t in texts]
    assert (features.vectors == as_kept(embedder.encode(texts))).all()  # kept at float16 precision
    reopened = DedupIndex(tmp_path, Dedup(), embedder)
    try:
        assert reopened.db.execute("SELECT count(*) FROM anchors").fetchone()[0] == len(texts)
    finally:
        reopened.close()


def test_a_change_of_what_is_stored_empties_the_index_and_a_threshold_does_not(tmp_path, embedder):
    texts = [frame.format(s=SUBJECTS[2]) for frame in FRAMES]
    ids = [prompt_id(t) for t in texts]
    for settings, rows in ((Dedup(), 0), (Dedup(near_threshold=0.9), len(texts)), (Dedup(num_perm=64), 0)):
        index = DedupIndex(tmp_path, settings, embedder)
        try:
            assert index.db.execute("SELECT count(*) FROM anchors").fetchone()[0] == rows
            index.anchor_features(ids, texts)
        finally:
            index.close()


def test_vectors_are_kept_as_float16_and_an_older_index_of_float32_reads_the_same(tmp_path, embedder):
    texts = [frame.format(s=SUBJECTS[3]) for frame in FRAMES]
    ids = [prompt_id(t) for t in texts]
    index = DedupIndex(tmp_path, Dedup(), embedder)
    try:
        from_texts = index.anchor_features(ids, texts).vectors
        sizes = {size for (size,) in index.db.execute("SELECT length(vector) FROM anchors")}
        assert sizes == {2 * embedder.dim + 1}  # HALF, then float16
        with index.db:  # as an older sftgen wrote them: float32 of the unrounded embeddings
            for anchor_id, vector in zip(ids, embedder.encode(texts)):
                index.db.execute("UPDATE anchors SET vector=? WHERE id=?",
                                 (np.asarray(vector, dtype=np.float32).tobytes(), anchor_id))
        from_older = index.anchor_features(ids, texts).vectors
    finally:
        index.close()
    assert (from_texts == as_kept(embedder.encode(texts))).all()
    assert (from_older == from_texts).all()
    assert halve_vectors(tmp_path) == len(texts)  # gc --apply: rewritten as float16, read the same
    assert halve_vectors(tmp_path) == 0
    index = DedupIndex(tmp_path, Dedup(), embedder)
    try:
        assert {size for (size,) in index.db.execute("SELECT length(vector) FROM anchors")} == {2 * embedder.dim + 1}
        assert (index.anchor_features(ids, texts).vectors == from_texts).all()
    finally:
        index.close()
