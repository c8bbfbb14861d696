"""The project the scale bench runs: a recipe, documents sized so the pipeline keeps about N prompts, and a
small local search corpus for the answer half (research off, answers on).

Each document is one chunk that the scripted model profiles as its `Subject:` / `Topic:` markers say;
`generate` asks 4 prompts of a profile and `broaden` one variant of each (8 prompts a profile), and the
quotas (`target_total: N`, `overshoot: 1.0`) stop generation at N. A tenth more documents than that
leaves room for what the filters drop (the extra profiles are declined as `quota_full`).
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from tests.support.prompt_script import physics_doc, words

SUBDOMAINS = [
    {"name": "quarks", "share": 0.4, "description": "quark flavours, charges and masses"},
    {"name": "gluons", "share": 0.4, "description": "gluons, colour charge and confinement"},
    {"name": "hadrons", "share": 0.2, "description": "baryons and mesons"},
]
PROMPTS_PER_PROFILE = 4 * (1 + 1)  # per_profile x (the seed + variants_per_prompt)
SPARE_DOCUMENTS = 1.1
CORPUS_PAGES = 40
PAGE_PARAGRAPHS = 6


def recipe(n_prompts: int, base_url: str, concurrency: int) -> dict:
    return {
        "project": f"pipeline-scale-{n_prompts}",
        "domain": {"name": "particle physics", "subdomains": SUBDOMAINS},
        "llm": {"provider": "openai", "base_url": base_url, "model": "fake-model",
                "max_concurrency": concurrency, "timeout_s": 60},
        "prompts": {"target_total": n_prompts, "overshoot": 1.0, "per_profile": 4, "variants_per_prompt": 1},
        "research": {"enabled": False, "backend": "local", "local": {"corpus": "corpus"}},
        "answers": {"enabled": True, "rag": True},
    }


def documents(n_prompts: int) -> dict[str, str]:
    """Enough one-chunk documents per subdomain for its share of N prompts, and a tenth more."""
    docs = {}
    for sub in SUBDOMAINS:
        wanted = math.ceil(n_prompts * sub["share"] / PROMPTS_PER_PROFILE * SPARE_DOCUMENTS)
        for i in range(wanted):
            docs[f"{sub['name']}/{sub['name']}-{i:05d}.md"] = physics_doc(sub["name"], f"{sub['name']} topic {i}")
    return docs


def corpus_page(index: int) -> str:
    """A page of the local search corpus: paragraphs made of the vocabulary the scripted prompts use, so
    different prompts' queries find different pages."""
    title = words(f"page {index}", 3)
    paragraphs = [f"{words(f'page {index} sentence {p} {s}', 12).capitalize()}."
                  for p in range(PAGE_PARAGRAPHS) for s in range(4)]
    body = "\n\n".join(" ".join(paragraphs[i:i + 4]) for i in range(0, len(paragraphs), 4))
    return f"# {title.title()}\n\n{body}\n"


def make_scale_project(root: Path, n_prompts: int, base_url: str, concurrency: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "recipe.yaml").write_text(yaml.safe_dump(recipe(n_prompts, base_url, concurrency), sort_keys=False))
    for name, text in documents(n_prompts).items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    corpus = root / "corpus"
    corpus.mkdir(exist_ok=True)
    for index in range(CORPUS_PAGES):
        (corpus / f"page-{index:02d}.md").write_text(corpus_page(index), encoding="utf-8")
    return root

