"""The funnel: for every step, items in, kept, dropped by reason, errors, LLM requests, cache hits, tokens."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sftgen.records import Status
from sftgen.report.throughput import rates_of
from sftgen.store import Store



def step_funnel(store: Store, step_order: list[str]) -> list[dict[str, Any]]:
    steps: dict[str, dict[str, Any]] = {}
    commits: dict[str, list[tuple[float, int]]] = {}  # per step, (done_at, items) oldest first: its rate
    for step, done_at, outcome, reason, count, requests, hits, prompt_tokens, completion_tokens, seconds in \
            store.progress.tallies_by_commit():  # one pass over the progress rows for both
        entry = steps.get(step)
        if entry is None:
            entry = steps[step] = empty_entry(step)
        entry["in"] += count
        if outcome == Status.KEPT:
            entry["kept"] += count
        elif outcome == Status.ERROR:
            entry["errors"] += count
            entry["error_reasons"][reason or "unknown"] += count
        else:
            entry["dropped"][reason or "unspecified"] += count
        entry["llm_requests"] += requests or 0
        entry["cache_hits"] += hits or 0
        entry["prompt_tokens"] += prompt_tokens or 0
        entry["completion_tokens"] += completion_tokens or 0
        entry["seconds"] += seconds or 0
        times = commits.setdefault(step, [])
        if times and times[-1][0] == done_at:
            times[-1] = (done_at, times[-1][1] + count)
        else:
            times.append((done_at, count))
    rates = rates_of(store, commits)
    for name, entry in steps.items():
        entry["out"] = store.count_emitted(name)
        entry["items_per_s"] = None if rates.get(name) is None else round(rates[name], 2)
        entry["dropped"] = dict(entry["dropped"].most_common())
        entry["error_reasons"] = dict(entry["error_reasons"].most_common())
        entry["seconds"] = round(entry["seconds"], 3)
    ordered = [steps.pop(name) for name in step_order if name in steps]
    return ordered + [steps[name] for name in sorted(steps)]


def empty_entry(name: str) -> dict[str, Any]:
    return {
        "name": name, "in": 0, "kept": 0, "dropped": Counter(), "errors": 0, "error_reasons": Counter(),
        "out": 0, "llm_requests": 0, "cache_hits": 0, "prompt_tokens": 0, "completion_tokens": 0, "seconds": 0.0,
    }


def record_counts(store: Store) -> dict[str, dict[str, int]]:
    return store.records.counts()


def recent_errors(store: Store, limit: int = 10) -> list[dict[str, Any]]:
    return store.progress.recent_errors(limit)
