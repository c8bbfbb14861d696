"""What `sftgen status` shows, as one JSON object (the funnel, record counts, recent errors, quotas, review
counts, the judge's health), and the snapshot that spares computing it again.

The store counts its changes (store/db.py: a trigger per table moves `store_state.generation` on, whoever
writes). The object is kept in `.sftgen/status.json` with the generation and the recipe it was computed
for, and read back while both are unchanged: a second `status`, or the closing status of a run that found
nothing to do, reads one file instead of every record. A snapshot that does not parse is computed anew.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sftgen import __version__

if TYPE_CHECKING:
    from sftgen.project import Project
    from sftgen.store import Store

SNAPSHOT_FILE = "status.json"
SNAPSHOT_FORMAT = 1
"""Raised when the object's shape changes, so a snapshot of the older shape is not shown."""


def project_status(project: Project) -> dict[str, Any]:
    store = project.store()
    try:
        recipe_key = recipe_fingerprint(project)
        before = store.db.generation()
        snapshot = read_snapshot(project.state_dir)
        if snapshot is not None and snapshot.get("generation") == before and snapshot.get("recipe") == recipe_key:
            return snapshot["status"]
        status = json.loads(json.dumps(collect_status(project, store)))  # as a snapshot reads back
        if store.db.generation() == before:  # nothing was written while we read
            write_snapshot(project.state_dir, {"format": SNAPSHOT_FORMAT, "generation": before,
                                               "recipe": recipe_key, "status": status})
        return status
    finally:
        store.close()


def collect_status(project: Project, store: Store) -> dict[str, Any]:
    from sftgen.answers.judge_health import judge_health
    from sftgen.pipeline import standard_pipeline
    from sftgen.quotas.status import quota_status
    from sftgen.report.funnel import record_counts, recent_errors, step_funnel
    from sftgen.review.queue import review_counts

    pipeline = standard_pipeline(project.recipe)
    judge = judge_health(store.records.meta_objects("answer", "scores"), project.recipe.answers.rubric)
    return {
        "steps": step_funnel(store, pipeline.names),
        "records": record_counts(store),
        "recent_errors": recent_errors(store),
        "quotas": quota_status(store, project.recipe, pipeline),
        "review": review_counts(store, pipeline, project.recipe),
        "judge": judge.as_dict(),
    }


def recipe_fingerprint(project: Project) -> str:
    """The recipe as loaded (defaults included) and the code's version: what the status depends on besides
    the store."""
    text = f"{SNAPSHOT_FORMAT}\n{__version__}\n{project.recipe.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def read_snapshot(state_dir: Path) -> dict[str, Any] | None:
    try:
        snapshot = json.loads((state_dir / SNAPSHOT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT or \
            not isinstance(snapshot.get("status"), dict):
        return None
    return snapshot


def write_snapshot(state_dir: Path, snapshot: dict[str, Any]) -> None:
    """Written beside the store and moved into place, so a reader sees the old file or the new one; a
    snapshot that cannot be written (a full disk, a read-only folder) is only not kept."""
    target = state_dir / SNAPSHOT_FILE
    partial = target.with_name(f"{SNAPSHOT_FILE}.{os.getpid()}.partial")
    try:
        partial.write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
