"""Exports are written beside the target and renamed at the end: a killed export leaves the earlier file
as it was and nothing partial under the target's name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sftgen.export.errors import ExportError
from sftgen.export.writers import write_rows

SLOW_EXPORT = """
import sys, time
from pathlib import Path
from sftgen.export.writers import write_rows

def rows():
    for n in range(100_000):
        yield {"id": n, "text": "row %d " % n + "x" * 200}
        if n == 5000:
            print("HALFWAY", flush=True)
        if n > 5000:
            time.sleep(0.001)

write_rows(rows(), "jsonl", Path(sys.argv[1]))
"""


def partials(folder: Path, out: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(f".{out.name}.partial-")]


def test_a_killed_export_leaves_the_earlier_file_intact(tmp_path):
    out = tmp_path / "prompts.jsonl"
    earlier = [{"id": n, "text": f"earlier {n}"} for n in range(344)]
    write_rows(earlier, "jsonl", out)
    before = out.read_bytes()

    export = subprocess.Popen([sys.executable, "-c", SLOW_EXPORT, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert export.stdout.readline().strip() == "HALFWAY"
        time.sleep(0.2)
        assert partials(tmp_path, out) and partials(tmp_path, out)[0].stat().st_size > 0  # killed mid-write
        export.send_signal(signal.SIGKILL)
    finally:
        export.wait(timeout=30)
        export.stdout.close()
    assert export.returncode == -signal.SIGKILL
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["prompts.jsonl"]

    write_rows([{"id": 1, "text": "new"}], "jsonl", out)  # the next export replaces it and clears the leftover
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"id": 1, "text": "new"}]
    assert partials(tmp_path, out) == []


def test_a_failing_writer_leaves_the_earlier_file_and_no_partial(tmp_path):
    out = tmp_path / "rows.jsonl"
    write_rows([{"id": 1}], "jsonl", out)

    def broken():
        yield {"id": 2}
        raise RuntimeError("the rows stopped")

    with pytest.raises(RuntimeError):
        write_rows(broken(), "jsonl", out)
    assert out.read_text() == '{"id": 1}\n' and partials(tmp_path, out) == []


def test_parquet_and_hf_replace_the_earlier_export_whole(tmp_path):
    parquet = tmp_path / "rows.parquet"
    write_rows([{"id": n} for n in range(10)], "parquet", parquet)
    write_rows([{"id": n} for n in range(3)], "parquet", parquet)
    assert pq.read_table(parquet).num_rows == 3

    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "rows_hf"
    write_rows([{"id": n} for n in range(10)], "hf", folder)
    write_rows([{"id": n} for n in range(4)], "hf", folder)
    assert len(datasets.load_from_disk(str(folder))) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.parquet", "rows_hf"]


def test_an_export_onto_a_folder_is_refused_by_name(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ExportError, match=f"cannot write {tmp_path / 'taken'}"):
        write_rows([{"id": 1}], "jsonl", tmp_path / "taken")
    assert partials(tmp_path, tmp_path / "taken") == []


def test_a_partial_left_by_a_live_process_is_not_removed(tmp_path):
    out = tmp_path / "rows.jsonl"
    other = tmp_path / f".rows.jsonl.partial-{os.getppid()}"  # a process that is still running
    other.write_text("another export in progress")
    write_rows([{"id": 1}], "jsonl", out)
    assert other.exists()


ROWS = st.lists(st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.text(), st.integers(), st.none()),
                                max_size=4), max_size=20)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=ROWS, second=ROWS)
def test_jsonl_exports_round_trip_and_replace_each_other(tmp_path, first, second):
    out = tmp_path / "rows.jsonl"
    assert write_rows(first, "jsonl", out) == len(first)
    assert write_rows(second, "jsonl", out) == len(second)
    lines = out.read_text(encoding="utf-8").split("\n")  # JSONL lines end at \n (a text may hold U+2028 or U+0085)
    assert [json.loads(line) for line in lines[:-1]] == second and lines[-1] == ""
    assert partials(tmp_path, out) == []
