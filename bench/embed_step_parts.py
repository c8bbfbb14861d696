"""CPU of the first half's LLM steps' own work outside the HTTP client and the store's writes (issue 17, stop
24), over a project a `bench/pipeline_scale.py --keep DIR` run left:

- loading the embedder, each way in a fresh process after the imports a run has made by then: model2vec's
  `StaticModel` and `StaticEncoder` (embed/static.py);
- chunk_filter's relevance score of a chunk: through model2vec one chunk at a time (how it was), through
  `StaticEncoder` one at a time, and a page of 256 encoded in one call (`prepare_inputs`) then scored;
- profile's subdomain match of a reply (its topic, summary and chunk embedded), through each encoder;
- generate's and broaden's variables (the chunk / profile each reads): one `store.get` per input, and a page
  read in one query;
- a prompt's task type and its checks alone; what each step works out per reply: generate's prompts of a
  profile (cleaning, checks, task type, meta, record id), broaden's variants of a seed, rephrase's check of a
  rewrite; and a record id alone. `--prompt-parts-only` prints only these, and runs on older commits too.

Every part runs `--repeat` times over all its items; the best round's CPU per call is printed. Scores and
matches of the two encoders are compared (they must be equal). The store is only read, but open a copy of a
kept project (`cp -a`), never the kept one.

    PYTHONPATH=src .venv/bin/python bench/embed_step_parts.py COPY/project-2000 [--repeat 5]
    PYTHONPATH=OLD/src .venv/bin/python bench/embed_step_parts.py COPY/project-2000 --prompt-parts-only
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from best_cpu import best_ms  # bench/ is on the path: the script's folder
from sftgen.embed.cache import ensure_distilled
from sftgen.records import stable_hash
from sftgen.recipe import load_recipe
from sftgen.relevance.score import DescriptionScorer
from sftgen.steps.broaden import BroadenStep, PromptVariants
from sftgen.steps.generate import GeneratedPrompts, GenerateStep
from sftgen.steps.prompt_records import rewording_problem, unusable_prompt
from sftgen.steps.subdomains import CONTENT_CHARS, SubdomainMatcher
from sftgen.steps.task_types import checked_task_type
from sftgen.store.store import Store

try:  # `--prompt-parts-only` runs on code before these (the prompt checks of an older commit)
    from sftgen.embed.embedder import Embedder, model2vec_model
    from sftgen.embed.static import StaticEncoder
    from sftgen.steps.prepared_encoder import PreparedEncoder
except ImportError:
    StaticEncoder = None

PAGE = 256
LOAD = """
import sys, time
import numpy, sftgen.pipeline, sftgen.run.executors.local, sftgen.llm.client  # what a run has imported by then
from sftgen.embed.cache import ensure_distilled
from sftgen.embed.embedder import Embedder, model2vec_model
from sftgen.embed.static import StaticEncoder
folder = ensure_distilled()
started = time.process_time()
model = StaticEncoder(folder) if sys.argv[1] == "static" else model2vec_model(folder)
Embedder(model, "x").encode(["What is a quark?"])
print(time.process_time() - started)
"""


def load_ms(kind: str, repeat: int) -> float:
    times = [float(subprocess.run([sys.executable, "-c", LOAD, kind], capture_output=True, text=True,
                                  check=True).stdout.strip().splitlines()[-1]) for _ in range(repeat)]
    return 1000 * min(times)


def paged_scores(encoder: PreparedEncoder, scorer: DescriptionScorer, texts: list[str]) -> list[float]:
    scores = []
    for start in range(0, len(texts), PAGE):
        page = texts[start:start + PAGE]
        encoder.prepare(page)
        scores += [scorer.score(text) for text in page]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--prompt-parts-only", action="store_true",
                        help="only generate's, broaden's and rephrase's own checks (runs on older commits too)")
    args = parser.parse_args()
    recipe = load_recipe(args.project / "recipe.yaml")
    store = Store(args.project / ".sftgen" / "store.db")
    chunks = list(store.records_of_kind("chunk"))
    profiles = list(store.records_of_kind("profile"))
    prompts = list(store.records_of_kind("prompt"))
    rows = [] if args.prompt_parts_only or StaticEncoder is None else embed_rows(recipe, store, chunks, profiles, prompts, args.repeat)
    rows += prompt_rows(recipe, profiles, prompts, args.repeat)
    print(f"{len(chunks)} chunks, {len(profiles)} profiles, {len(prompts)} prompts of {args.project}; "
          f"best of {args.repeat} rounds, CPU ms per call")
    for label, ms, calls in rows:
        print(f"  {label:<50} {ms:8.4f} ms  ({calls} calls)")
    store.close()


def embed_rows(recipe, store, chunks, profiles, prompts, r: int) -> list:
    chunk_text = {chunk.id: chunk.text for chunk in chunks}
    folder = ensure_distilled()
    reference, ours = Embedder(model2vec_model(folder), "model2vec"), Embedder(StaticEncoder(folder), "static")
    texts = [chunk.text for chunk in chunks]
    contents = [(p.meta.get("subdomain_raw", ""), p.meta.get("topic", ""),
                 f"{p.meta.get('topic', '')}. {p.text}\n{chunk_text.get(p.meta.get('chunk_id'), '')[:CONTENT_CHARS]}")
                for p in profiles]
    scorers = {name: DescriptionScorer(recipe, encoder) for name, encoder in (("model2vec", reference), ("static", ours))}
    prepared = PreparedEncoder(ours)
    paged_scorer = DescriptionScorer(recipe, prepared)
    matchers = {name: SubdomainMatcher(recipe, encoder) for name, encoder in (("model2vec", reference), ("static", ours))}
    for scorer in (*scorers.values(), paged_scorer):
        scorer.anchors()
    for matcher in matchers.values():
        matcher.vectors()
    same_scores = ([scorers["model2vec"].score(t) for t in texts] == [scorers["static"].score(t) for t in texts]
                   == paged_scores(prepared, paged_scorer, texts))
    same_matches = all(matchers["model2vec"].match(*c) == matchers["static"].match(*c) for c in contents)

    chunk_ids = [p.meta.get("chunk_id", "") for p in profiles]
    profile_ids = [p.meta.get("profile_id", "") for p in prompts]

    def pages_of(ids: list[str]) -> None:
        for start in range(0, len(ids), PAGE):
            found = store.records.get_many(ids[start:start + PAGE])
            [found[i].text for i in ids[start:start + PAGE] if i in found]

    n = len(texts)
    print(f"  scores equal (model2vec, StaticEncoder, by pages): {same_scores}; profile matches equal: {same_matches}")
    return [
        ("load the embedder: model2vec StaticModel", load_ms("model2vec", r), 1),
        ("load the embedder: StaticEncoder", load_ms("static", r), 1),
        ("chunk score, model2vec one at a time", best_ms(lambda: [scorers["model2vec"].score(t) for t in texts], n, r), n),
        ("chunk score, StaticEncoder one at a time", best_ms(lambda: [scorers["static"].score(t) for t in texts], n, r), n),
        ("chunk score, StaticEncoder a page at a time", best_ms(lambda: paged_scores(prepared, paged_scorer, texts), n, r), n),
        ("profile match, model2vec", best_ms(lambda: [matchers["model2vec"].match(*c) for c in contents], len(contents), r), len(contents)),
        ("profile match, StaticEncoder", best_ms(lambda: [matchers["static"].match(*c) for c in contents], len(contents), r), len(contents)),
        ("generate's chunk, store.get each", best_ms(lambda: [store.get(i) for i in chunk_ids], len(chunk_ids), r), len(chunk_ids)),
        ("generate's chunk, a page in one query", best_ms(lambda: pages_of(chunk_ids), len(chunk_ids), r), len(chunk_ids)),
        ("broaden's profile, store.get each", best_ms(lambda: [store.get(i) for i in profile_ids], len(profile_ids), r), len(profile_ids)),
        ("broaden's profile, a page in one query", best_ms(lambda: pages_of(profile_ids), len(profile_ids), r), len(profile_ids)),
    ]


def prompt_rows(recipe, profiles, prompts, r: int) -> list:
    by_profile: dict[str, list[str]] = defaultdict(list)
    by_seed: dict[str, list[str]] = defaultdict(list)
    rewrites = []
    for prompt in prompts:
        origin = prompt.meta.get("variant_of")
        if prompt.meta.get("rephrased_from"):
            rewrites.append((prompt.meta["rephrased_from"], prompt.text))
        elif origin:
            by_seed[origin].append(prompt.text)
        elif prompt.meta.get("profile_id"):
            by_profile[prompt.meta["profile_id"]].append(prompt.text)
    profile_by_id = {p.id: p for p in profiles}
    prompt_by_id = {p.id: p for p in prompts}
    allowed = recipe.prompts.task_types
    generate, broaden = GenerateStep(), BroadenStep()
    replies = [(profile_by_id[pid], GeneratedPrompts(prompts=texts_), [allowed[i % len(allowed)] for i in range(len(texts_))])
               for pid, texts_ in by_profile.items() if pid in profile_by_id]
    variants = [(prompt_by_id[sid], PromptVariants(variants=texts_),
                 [{"persona": "student", "difficulty": "beginner"}] * len(texts_))
                for sid, texts_ in by_seed.items() if sid in prompt_by_id]
    rephrased = [(prompt_by_id[pid].text, text) for pid, text in rewrites if pid in prompt_by_id]
    texts = [p.text for p in prompts]
    return [
        ("a prompt's task type (checked_task_type)", best_ms(lambda: [checked_task_type(t, allowed[0], allowed)
                                                                for t in texts], len(texts), r), len(texts)),
        ("a prompt's checks (unusable_prompt)", best_ms(lambda: [unusable_prompt(t, set()) for t in texts],
                                                         len(texts), r), len(texts)),
        ("generate: a reply's prompts (prompts_from)", best_ms(lambda: [generate.prompts_from(p, rep, asked, allowed)
                                                               for p, rep, asked in replies], len(replies), r), len(replies)),
        ("broaden: a reply's variants (variants_from)", best_ms(lambda: [broaden.variants_from(s, rep, targets)
                                                                for s, rep, targets in variants], len(variants), r), len(variants)),
        ("rephrase: a rewrite's check (rewording_problem)", best_ms(lambda: [rewording_problem(a, b) for a, b in rephrased],
                                                                    len(rephrased), r), len(rephrased)),
        ("a record id (stable_hash)", best_ms(lambda: [stable_hash("prompt", p.text, p.parent_ids, "generate:0")
                                                       for p in prompts], len(prompts), r), len(prompts)),
    ]


if __name__ == "__main__":
    main()
