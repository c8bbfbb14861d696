"""What string `maxLength` bounds cost under the embedded llama.cpp grammar, in one run: the chunk filter's
and the profile step's requests (the package templates, the example project's chunks) sent to the embedded
server with their schemas as they are and with every string `maxLength` taken out, alternating, so both
see the same load. Prints per schema and variant the median seconds per request, completion tokens,
replies cut by max_tokens, and how many replies break a length bound that the grammar did not enforce
(which truncation after parsing would then cut).

    .venv/bin/python bench/grammar_cost.py [--requests 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx  # noqa: E402

from sftgen.chunking.splitter import split_into_chunks  # noqa: E402
from sftgen.llm.embedded import EmbeddedServer  # noqa: E402
from sftgen.llm.templates import Templates  # noqa: E402
from sftgen.recipe.loader import load_recipe  # noqa: E402
from sftgen.steps.chunk_filter import ChunkVerdict  # noqa: E402
from sftgen.steps.profile import ChunkProfile  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "sftgen" / "examples" / "quarks"


def without_max_length(schema):
    if isinstance(schema, dict):
        return {key: without_max_length(value) for key, value in schema.items() if key != "maxLength"}
    if isinstance(schema, list):
        return [without_max_length(value) for value in schema]
    return schema


def max_lengths(schema: dict) -> dict[str, int]:
    return {name: field["maxLength"] for name, field in schema["properties"].items() if "maxLength" in field}


def chunks() -> list[str]:
    texts = []
    for path in sorted((EXAMPLE / "docs").glob("*.md")):
        pieces = split_into_chunks(path.read_text(encoding="utf-8"), size=1200, overlap=100, markdown=True)
        texts += [piece.text for piece in pieces if len(piece.text) > 300]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4, help="per schema and variant")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=384)
    args = parser.parse_args()
    recipe = load_recipe(EXAMPLE / "recipe.yaml")
    templates = Templates(None)
    texts = chunks()
    cases = {
        "ChunkVerdict": ("chunk_filter.jinja", ChunkVerdict, lambda text: {"domain": recipe.domain, "chunk": text,
                                                                           "title": ""}),
        "ChunkProfile": ("profile.jinja", ChunkProfile, lambda text: {"domain": recipe.domain, "chunk": text,
                                                                      "subdomains": recipe.domain.subdomains,
                                                                      "title": ""}),
    }
    with tempfile.TemporaryDirectory() as scratch:
        server = EmbeddedServer(None, 4096, Path(scratch) / "server.log", threads=args.threads)
        server.start()
        try:
            for name, (template, model, variables) in cases.items():
                bounded = model.model_json_schema()
                variants = {"maxLength": bounded, "no maxLength": without_max_length(bounded)}
                limits = max_lengths(bounded)
                seen: dict[str, list[dict]] = {variant: [] for variant in variants}
                for index in range(args.requests):
                    messages = templates.render_messages(template, variables(texts[index % len(texts)]))
                    for variant, schema in variants.items():
                        seen[variant].append(ask(server.base_url, messages, schema, args.max_tokens, index))
                for variant, results in seen.items():
                    report(name, variant, results, limits)
        finally:
            server.stop()


def ask(base_url: str, messages, schema: dict, max_tokens: int, seed: int) -> dict:
    body = {"model": "bench", "messages": messages, "temperature": 0.7, "max_tokens": max_tokens, "seed": seed,
            "response_format": {"type": "json_object", "schema": schema}}
    started = time.perf_counter()
    reply = httpx.post(f"{base_url}/chat/completions", json=body, timeout=900).json()
    choice = reply["choices"][0]
    return {"seconds": time.perf_counter() - started, "content": choice["message"]["content"] or "",
            "finish": choice.get("finish_reason"), "tokens": reply.get("usage", {}).get("completion_tokens", 0)}


def report(name: str, variant: str, results: list[dict], limits: dict[str, int]) -> None:
    over = 0
    for result in results:
        try:
            data = json.loads(result["content"], strict=False)
        except ValueError:
            continue
        over += any(len(str(data.get(field, ""))) > limit for field, limit in limits.items())
    seconds = [r["seconds"] for r in results]
    print(f"{name:13s} {variant:13s}: median {statistics.median(seconds):6.1f} s/request (min {min(seconds):.1f}, "
          f"max {max(seconds):.1f}), {statistics.mean(r['tokens'] for r in results):.0f} completion tokens, "
          f"{sum(r['finish'] == 'length' for r in results)}/{len(results)} cut by max_tokens, "
          f"{over}/{len(results)} over a length bound", flush=True)


if __name__ == "__main__":
    main()
