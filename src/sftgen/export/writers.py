"""Writing export rows as JSONL, Parquet or a Hugging Face dataset folder, all three from the same rows and
the same Arrow schema (export/schema.py): every format holds the same values with the same nesting.

- jsonl: one JSON object a line (`datasets.load_dataset("json", data_files=...)`, `pandas.read_json(lines=True)`);
- parquet: one file with the schema (`load_dataset("parquet", data_files=...)`, duckdb, pandas);
- hf: a folder written by `Dataset.save_to_disk`, read with `datasets.load_from_disk(folder)`. Not with
  `load_dataset(folder)`, which refuses a saved folder. (A README `configs:` entry pointing `load_dataset` at
  the saved Arrow files would read it, but datasets 5.2 caches such a folder under its name and config only:
  a second folder of the same name, or the same folder exported again, loads the first one's rows.)

Every export is written under a temporary name beside the target and renamed onto it at the end, so the
target is always either the earlier export or the new one, whole: a killed export leaves the earlier
file as it was, and only a hidden `.<name>.partial-<pid>` behind (removed by the next export to it).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sftgen.export.errors import ExportError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("jsonl", "parquet", "hf")
PARTIAL = ".partial-"


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: Path, schema: pa.Schema | None = None) -> int:
    """Write the rows (already fitting `schema`, as `export_rows` makes them) to `out`; returns the count.
    Without a schema, Parquet and hf take the types Arrow infers from the rows."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(out)
        partial = out.parent / f".{out.name}{PARTIAL}{os.getpid()}"
        try:
            count = write_format(rows, fmt, partial, schema)
            publish(partial, out)
        finally:
            remove_path(partial)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return count


def write_format(rows: Iterable[dict[str, Any]], fmt: str, out: Path, schema: pa.Schema | None) -> int:
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "parquet":
        return write_parquet(rows, out, schema)
    return write_hf(rows, out, schema)

def publish(partial: Path, out: Path) -> None:
    """Rename the finished export onto its name. A folder (hf) cannot replace a folder in one rename:
    the earlier one is moved aside first and removed after."""
    if partial.is_dir() and out.is_dir():
        earlier = out.parent / f".{out.name}{PARTIAL}{os.getpid()}-earlier"
        os.replace(out, earlier)
        os.replace(partial, out)
        remove_path(earlier)
        return
    if out.is_dir():
        raise ExportError(f"cannot write {out}: a folder of that name is in the way")
    if partial.is_dir() and out.exists():
        raise ExportError(f"cannot write {out}: a file of that name is in the way (--format hf writes a folder)")
    if partial.is_file():  # on disk before the rename, so a power cut cannot leave an empty file
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
    os.replace(partial, out)


def remove_stale_partials(out: Path) -> None:
    """What killed exports to this target left behind (their process is gone)."""
    for leftover in out.parent.glob(f"{glob.escape('.' + out.name + PARTIAL)}*"):
        pid = leftover.name[len(f".{out.name}{PARTIAL}"):].split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            remove_path(leftover)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, and someone else's
        pass
    return True


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)



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


PARQUET_ROWS = 8192
"""Rows per Parquet row group."""

ARROW_ROWS = 512
"""Rows converted from Python to Arrow at a time. A row as Python objects weighs several times its Arrow
form (about 18 KB against 2 KB for an sft row with its history), so a row group is gathered in Arrow, a
slice at a time: an export of any size holds one row group in Arrow and one slice as Python objects."""


def arrow_batches(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    from sftgen.export.reads import batches

    for batch in batches(rows, ARROW_ROWS):
        yield pa.RecordBatch.from_pylist(batch, schema=schema)


def row_groups(rows: Iterable[dict[str, Any]], schema: pa.Schema) -> Iterator[pa.Table]:
    """The rows as Arrow tables of PARQUET_ROWS rows each (the last one shorter)."""
    import pyarrow as pa

    gathered = schema.empty_table()
    for batch in arrow_batches(rows, schema):
        gathered = pa.concat_tables([gathered, pa.Table.from_batches([batch], schema=schema)])
        while gathered.num_rows >= PARQUET_ROWS:
            yield gathered.slice(0, PARQUET_ROWS)
            gathered = gathered.slice(PARQUET_ROWS)
    if gathered.num_rows:
        yield gathered


def arrow_table(rows: Iterable[dict[str, Any]], schema: pa.Schema | None) -> pa.Table:
    import pyarrow as pa

    if schema is None:  # the types are inferred from all the rows together
        return pa.Table.from_pylist(list(rows), schema=schema)
    return pa.Table.from_batches(list(arrow_batches(rows, schema)), schema=schema)


def write_parquet(rows: Iterable[dict[str, Any]], out: Path, schema: pa.Schema | None) -> int:
    import pyarrow.parquet as pq

    if schema is None:
        table = arrow_table(rows, schema)
        pq.write_table(table, out)
        return table.num_rows
    count = 0
    with pq.ParquetWriter(out, schema) as writer:
        for group in row_groups(rows, schema):
            writer.write_table(group, row_group_size=PARQUET_ROWS)
            count += group.num_rows
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


def write_hf(rows: Iterable[dict[str, Any]], out: Path, schema: pa.Schema | None) -> int:
    try:
        import datasets
    except ImportError as exc:
        raise ExportError("--format hf needs the 'datasets' package: pip install 'sftgen[hf]'") from exc
    table = arrow_table(rows, schema)
    dataset = datasets.Dataset(table, info=datasets.DatasetInfo(features=datasets.Features.from_arrow_schema(table.schema)))
    # An empty dataset gets one (empty) shard: with none, `load_from_disk` fails (datasets 5.2).
    dataset.save_to_disk(str(out), num_shards=1 if table.num_rows == 0 else None)
    return table.num_rows
