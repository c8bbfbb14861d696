"""Writing export rows as JSONL, Parquet or a Hugging Face dataset folder, all three from the same rows and
the same Arrow schema (export/schema.py): every format holds the same values with the same nesting.

- jsonl: one JSON object a line (`datasets.load_dataset("json", data_files=...)`, `pandas.read_json(lines=True)`);
- parquet: one file with the schema (`load_dataset("parquet", data_files=...)`, duckdb, pandas);
- hf: a folder written by `Dataset.save_to_disk`, read with `datasets.load_from_disk(folder)`. Not with
  `load_dataset(folder)`, which refuses a saved folder. (A README `configs:` entry pointing `load_dataset` at
  the saved Arrow files would read it, but datasets 5.2 caches such a folder under its name and config only:
  a second folder of the same name, or the same folder exported again, loads the first one's rows.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

FORMATS = ("jsonl", "parquet", "hf")


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: Path, schema: pa.Schema) -> int:
    """Write the rows (already fitting `schema`, as `export_rows` makes them) to `out`; returns the count."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "parquet":
        return write_parquet(rows, out, schema)
    if fmt == "hf":
        return write_hf(rows, out, schema)
    raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")


LINE_BREAKS_IN_TEXT = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
"""Characters some readers take for the end of a line (Python's str.splitlines, JavaScript): escaped, so one
row stays one line whatever the text holds (json.dumps already escapes \n, \r and other control characters)."""


def jsonl_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, allow_nan=False).translate(LINE_BREAKS_IN_TEXT) + "\n"


def write_jsonl(rows: Iterable[dict[str, Any]], out: Path) -> int:
    count = 0
    with open(out, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(jsonl_line(row))
            count += 1
    return count


def arrow_table(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=schema)


def write_parquet(rows: Iterable[dict[str, Any]], out: Path, schema: pa.Schema) -> int:
    import pyarrow.parquet as pq

    table = arrow_table(rows, schema)
    pq.write_table(table, out)
    return table.num_rows


def write_hf(rows: Iterable[dict[str, Any]], out: Path, schema: pa.Schema) -> int:
    try:
        import datasets
    except ImportError as exc:
        raise RuntimeError("--format hf needs the 'datasets' package: pip install 'sftgen[hf]'") from exc
    table = arrow_table(rows, schema)
    dataset = datasets.Dataset(table, info=datasets.DatasetInfo(features=datasets.Features.from_arrow_schema(schema)))
    # An empty dataset gets one (empty) shard: with none, `load_from_disk` fails (datasets 5.2).
    dataset.save_to_disk(str(out), num_shards=1 if table.num_rows == 0 else None)
    return table.num_rows
