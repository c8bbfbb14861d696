"""What a finished run left in the project: kept prompts and answers, the progress table per step, and the
store's size on disk (per file under .sftgen/, and per table and index inside store.db, from dbstat)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def read_only(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def final_step_names(project_dir: Path) -> dict[str, str]:
    """The steps whose emits are the kept prompts and the kept answers (as exports read them)."""
    from sftgen.pipeline import standard_pipeline
    from sftgen.project import Project

    pipeline = standard_pipeline(Project.open(project_dir).recipe)
    return {kind: pipeline.final(kind).name for kind in ("prompt", "answer")}


def kept_counts(project_dir: Path) -> dict[str, int]:
    finals = final_step_names(project_dir)
    with read_only(store_path(project_dir)) as conn:
        return {kind: conn.execute(
            """SELECT COUNT(DISTINCT e.item_id) FROM emits e JOIN records r ON r.id = e.item_id
               WHERE e.step=? AND e.active=1 AND r.kind=? AND r.status='kept'""", (step, kind)).fetchone()[0]
            for kind, step in finals.items()}


def progress_by_step(project_dir: Path) -> dict[str, dict[str, Any]]:
    with read_only(store_path(project_dir)) as conn:
        rows = conn.execute(
            """SELECT step, COUNT(*) AS items, SUM(outcome='kept') AS kept, SUM(outcome='dropped') AS dropped,
                      SUM(outcome='error') AS errors, SUM(llm_requests) AS llm_requests,
                      SUM(cache_hits) AS cache_hits, SUM(seconds) AS item_seconds
               FROM progress GROUP BY step""").fetchall()
    return {row["step"]: dict(row) for row in rows}


def store_path(project_dir: Path) -> Path:
    return project_dir / ".sftgen" / "store.db"


def disk_usage(project_dir: Path) -> dict[str, int]:
    """Bytes under .sftgen/: the store's files, the page cache, the logs, and everything."""
    state = project_dir / ".sftgen"
    sizes: dict[str, int] = {"total": 0}
    for path in state.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            sizes["total"] += size
            top = path.relative_to(state).parts[0]
            sizes[top] = sizes.get(top, 0) + size
    return sizes


def table_sizes(project_dir: Path) -> dict[str, int]:
    """Bytes of each table and index in store.db (SQLite's dbstat), largest first."""
    with read_only(store_path(project_dir)) as conn:
        try:
            rows = conn.execute("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC")
            return {row["name"]: row["bytes"] for row in rows}
        except sqlite3.OperationalError:  # an SQLite built without dbstat
            return {}


def column_bytes(project_dir: Path) -> dict[str, int]:
    """Bytes of the big text columns as stored: what the records and the LLM cache hold, by kind."""
    with read_only(store_path(project_dir)) as conn:
        numbered = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_rows'").fetchone()
        if numbered:  # texts kept once (in `texts`, with the progress labels): each counted with the first kind that has it
            sizes = {f"records.{row['kind']}": row["bytes"] for row in conn.execute(
                """SELECT kind, SUM(LENGTH(CAST(meta AS BLOB)) + LENGTH(parents)) AS bytes FROM record_rows
                   GROUP BY kind""")}
            for row in conn.execute(
                    """SELECT r.kind, SUM(LENGTH(CAST(t.text AS BLOB))) AS bytes
                       FROM (SELECT text, MIN(n) AS first FROM record_rows GROUP BY text) f
                       JOIN texts t ON t.n = f.text JOIN record_rows r ON r.n = f.first GROUP BY r.kind"""):
                sizes[f"records.{row['kind']}"] = sizes.get(f"records.{row['kind']}", 0) + row["bytes"]
            sizes["progress.label"] = conn.execute(
                """SELECT COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM texts
                   WHERE n IN (SELECT label FROM progress_rows)""").fetchone()[0]
        else:
            sizes = {f"records.{row['kind']}": row["bytes"] for row in conn.execute(
                """SELECT kind, SUM(LENGTH(CAST(text AS BLOB)) + LENGTH(CAST(meta AS BLOB))
                                    + LENGTH(parent_ids)) AS bytes FROM records GROUP BY kind""")}
        cache = conn.execute("""SELECT SUM(LENGTH(CAST(request AS BLOB))) AS request,
                                       SUM(LENGTH(CAST(response AS BLOB))) AS response, COUNT(*) AS n
                                FROM llm_cache""").fetchone()
        sizes["llm_cache.request"] = cache["request"] or 0
        sizes["llm_cache.response"] = cache["response"] or 0
        sizes["llm_cache.rows"] = cache["n"]
        sizes["progress.detail"] = conn.execute(
            "SELECT SUM(LENGTH(CAST(detail AS BLOB))) FROM progress").fetchone()[0] or 0
    return dict(sorted(sizes.items(), key=lambda item: -item[1]))
