"""Writing export rows as JSONL, Parquet or a Hugging Face dataset folder."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMATS = ("jsonl", "parquet", "hf")


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "parquet":
        return write_parquet(list(rows), out)
    if fmt == "hf":
        return write_hf(list(rows), out)
    raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")


def write_jsonl(rows: Iterable[dict[str, Any]], out: Path) -> int:
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def flat_for_columns(row: dict[str, Any]) -> dict[str, Any]:
    """Columnar formats get lists of chat messages as they are, and free-form dicts as JSON strings."""
    flat = {}
    for key, value in row.items():
        if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)
                                       and key != "messages"):
            flat[key] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            flat[key] = value
    return flat


def write_parquet(rows: list[dict[str, Any]], out: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([flat_for_columns(row) for row in rows]), out)
    return len(rows)


def write_hf(rows: list[dict[str, Any]], out: Path) -> int:
    try:
        import datasets
    except ImportError as exc:
        raise RuntimeError("--format hf needs the 'datasets' package: pip install 'sftgen[hf]'") from exc
    datasets.Dataset.from_list([flat_for_columns(row) for row in rows]).save_to_disk(str(out))
    return len(rows)
