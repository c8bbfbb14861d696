"""Writing export rows as JSONL, Parquet or a Hugging Face dataset folder.

Every export is written under a temporary name beside the target and renamed onto it at the end, so the
target is always either the earlier export or the new one, whole: a killed export leaves the earlier
file as it was, and only a hidden `.<name>.partial-<pid>` behind (removed by the next export to it).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMATS = ("jsonl", "parquet", "hf")
PARTIAL = ".partial-"


class ExportError(Exception):
    """An export that cannot be written (the message names the path)."""


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: Path) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(out)
        partial = out.parent / f".{out.name}{PARTIAL}{os.getpid()}"
        try:
            count = write_format(rows, fmt, partial)
            publish(partial, out)
        finally:
            remove_path(partial)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return count


def write_format(rows: Iterable[dict[str, Any]], fmt: str, out: Path) -> int:
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "parquet":
        return write_parquet(list(rows), out)
    return write_hf(list(rows), out)


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
        raise ExportError("--format hf needs the 'datasets' package: pip install 'sftgen[hf]'") from exc
    datasets.Dataset.from_list([flat_for_columns(row) for row in rows]).save_to_disk(str(out))
    return len(rows)
