"""The dataset card (a Hugging Face README.md) written with an export: YAML header (task categories,
language, size category, license), then the sources, models, recipe summary, counts and metrics.

`sftgen export --format hf` writes it into the dataset folder as README.md; jsonl / parquet exports write
it beside the file as `<out>.README.md` with `--card`."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader

from sftgen.recipe import Recipe
from sftgen.report.diversity import DEFAULT_SAMPLE, sample_indices
from sftgen.report.metrics.lexical import length_metrics, lexical_metrics
from sftgen.report.reference import prompt_of
from sftgen.store import Store

TEMPLATES = Path(__file__).parent / "templates"
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M")]
LISTED_SOURCES = 30
HUB_LICENSES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m
afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0
cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl
gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql
ofl-1.1 ncsa unlicense zlib pddl unknown
""".split())
"""License identifiers the Hugging Face Hub knows (its `license:` values); any other name is written as
`license: other` with `license_name`."""


def card_path(out: Path, fmt: str) -> Path:
    return out / "README.md" if fmt == "hf" else out.with_name(out.name + ".README.md")


def size_category(count: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if count < limit), "n>10M")


def task_categories(what: str) -> list[str]:
    return ["question-answering", "text-generation"] if what in ("sft", "answers", "preferences") else ["text-generation"]


def preference_sources(rows: list[dict[str, Any]], what: str) -> list[tuple[str, int]] | None:
    """How many pairs came from each source (every source named, none left out for having no pair)."""
    if what != "preferences":
        return None
    from sftgen.export.schema import PREFERENCE_SOURCES

    counts = Counter(row.get("source") for row in rows)
    return [(source, counts.get(source, 0)) for source in PREFERENCE_SOURCES]


def source_summary(store: Store) -> dict[str, Any]:
    files, hosts = Counter(), Counter()
    for meta in store.records.kept_metas("document"):
        if meta.get("url"):
            hosts[urlparse(meta["url"]).hostname or meta["url"]] += 1
        elif meta.get("source"):
            files[meta["source"]] += 1
    return {"files": sorted(files)[:LISTED_SOURCES], "file_count": len(files),
            "web_pages": sum(hosts.values()), "web_hosts": hosts.most_common(LISTED_SOURCES)}


def models_used(store: Store) -> list[dict[str, Any]]:
    return store.llm_cache.models()


def prompt_metrics(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Lexical diversity and lengths of the exported prompts (on a fixed sample when there are many)."""
    texts = [text for text in (prompt_of(row) for row in rows) if text]
    if not texts:
        return None
    sample = [texts[i] for i in sample_indices(len(texts), DEFAULT_SAMPLE)]
    return {"sample_size": len(sample), "lexical": lexical_metrics(sample), "lengths": length_metrics(sample)}


def report_metrics(project_dir: Path) -> dict[str, Any] | None:
    path = project_dir / "report" / "metrics.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None  # a broken report leaves its numbers out of the card, nothing more


def card_license(name: str | None) -> dict[str, str | None]:
    """The card's license fields: a Hub id as it is; another name as `other` + `license_name` (lowercase,
    dashes, as the Hub asks); none at all as `unknown` (a valid Hub value that says it is not set)."""
    if not name or not name.strip():
        return {"id": "unknown", "name": None, "given": None}
    given = name.strip()
    if given.lower() in HUB_LICENSES:
        return {"id": given.lower(), "name": None, "given": given}
    return {"id": "other", "name": re.sub(r"[^a-z0-9.]+", "-", given.lower()).strip("-") or "custom", "given": given}


def dataset_card(project_dir: Path, recipe: Recipe, store: Store, rows: list[dict[str, Any]], what: str,
                 license: str | None = None, fmt: str | None = None, file_name: str | None = None) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["yaml_str"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    return environment.get_template("dataset_card.md").render(
        recipe=recipe, what=what, count=len(rows), size_category=size_category(len(rows)),
        task_categories=task_categories(what), license=card_license(license or getattr(recipe, "license", None)),
        language=getattr(recipe, "language", None) or "en", sources=source_summary(store), models=models_used(store),
        metrics=prompt_metrics(rows), report=report_metrics(project_dir), date=time.strftime("%Y-%m-%d"),
        fmt=fmt, file_name=file_name, preference_sources=preference_sources(rows, what),
    )


def write_card(out: Path, fmt: str, project_dir: Path, recipe: Recipe, store: Store,
               rows: list[dict[str, Any]], what: str, license: str | None = None) -> Path:
    path = card_path(out, fmt)
    text = dataset_card(project_dir, recipe, store, rows, what, license, fmt, out.name)
    path.write_text(text, encoding="utf-8")
    return path
