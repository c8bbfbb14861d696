"""The dataset card (a Hugging Face README.md) written with an export: YAML header (task categories,
language, size category, license), then the sources, models, recipe summary, counts and metrics.

`sftgen export --format hf` writes it into the dataset folder as README.md; jsonl / parquet exports write
it beside the file as `<out>.README.md` with `--card`."""

from __future__ import annotations

import json
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


def card_path(out: Path, fmt: str) -> Path:
    return out / "README.md" if fmt == "hf" else out.with_name(out.name + ".README.md")


def size_category(count: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if count < limit), "n>10M")


def task_categories(what: str) -> list[str]:
    return ["question-answering", "text-generation"] if what in ("sft", "answers") else ["text-generation"]


def source_summary(store: Store) -> dict[str, Any]:
    files, hosts = Counter(), Counter()
    for row in store.conn.execute("SELECT meta FROM records WHERE kind='document' AND status='kept'"):
        meta = json.loads(row["meta"] or "{}")
        if meta.get("url"):
            hosts[urlparse(meta["url"]).hostname or meta["url"]] += 1
        elif meta.get("source"):
            files[meta["source"]] += 1
    return {"files": sorted(files)[:LISTED_SOURCES], "file_count": len(files),
            "web_pages": sum(hosts.values()), "web_hosts": hosts.most_common(LISTED_SOURCES)}


def models_used(store: Store) -> list[dict[str, Any]]:
    rows = store.conn.execute("SELECT model, COUNT(*) AS n FROM llm_cache GROUP BY model ORDER BY n DESC")
    return [{"model": row["model"], "requests": row["n"]} for row in rows]


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


def dataset_card(project_dir: Path, recipe: Recipe, store: Store, rows: list[dict[str, Any]], what: str) -> str:
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["yaml_str"] = lambda value: json.dumps(str(value), ensure_ascii=False)
    return environment.get_template("dataset_card.md").render(
        recipe=recipe, what=what, count=len(rows), size_category=size_category(len(rows)),
        task_categories=task_categories(what), license=getattr(recipe, "license", None) or "other",
        language=getattr(recipe, "language", None) or "en", sources=source_summary(store), models=models_used(store),
        metrics=prompt_metrics(rows), report=report_metrics(project_dir), date=time.strftime("%Y-%m-%d"),
    )


def write_card(out: Path, fmt: str, project_dir: Path, recipe: Recipe, store: Store,
               rows: list[dict[str, Any]], what: str) -> Path:
    path = card_path(out, fmt)
    path.write_text(dataset_card(project_dir, recipe, store, rows, what), encoding="utf-8")
    return path
