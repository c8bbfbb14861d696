"""The store's writes of a whole pipeline run, recorded once and replayed into a fresh store: the CPU of each
step's result commits (`Store.commit_batch`) and input pages (`Store.pending_inputs`) per item, split into the
Python around the SQL and each SQL statement.

`record` runs the scale bench's project (bench/scale/project.py) against the scripted server in this process
and pickles, in call order, every call of the store's writers (commit_batch, the LLM cache's puts,
put_records, set_meta) and readers of pages (pending_inputs), with the time each commit was made at. `replay`
makes them again on a fresh store (so the commits meet the tables as the run's did, the LLM cache's rows
among them), the clock held at each commit's recorded time: the same code leaves the same rows, so
`--digest` tells two versions of the store apart. `compare` replays in subprocesses taking turns, one on
the code under test, one on another checkout's `src` (e.g. `git archive main src | tar -x -C /tmp/base`),
and prints each one's best round per step.

    PYTHONPATH=src python bench/commit_replay.py record --size 2000 --out /tmp/me/run-2000.pickle
    PYTHONPATH=src python bench/commit_replay.py replay /tmp/me/run-2000.pickle [--statements] [--digest]
    PYTHONPATH=src python bench/commit_replay.py compare /tmp/me/run-2000.pickle --base /tmp/base/src [--rounds 3]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from collections.abc import Sequence
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
for folder in (ROOT, BENCH):  # `tests.support` (the scale project) and `scale` live in the repo, not the package
    if str(folder) not in sys.path:
        sys.path.append(str(folder))

RECORDED = ("commit_batch", "cache_put_many", "cache_put", "put_records", "set_meta", "pending_inputs")
"""The Store methods whose calls are recorded and replayed."""
TIMED = ("commit_batch", "pending_inputs")
DIGESTED = {
    "names": "SELECT n, name FROM names ORDER BY n",
    "texts": "SELECT n, hash, text FROM texts ORDER BY n",
    "record_rows": "SELECT * FROM record_rows ORDER BY n",
    "emit_rows": "SELECT * FROM emit_rows ORDER BY seq",
    "progress_rows": "SELECT * FROM progress_rows ORDER BY step, item",
    "meta_dicts": "SELECT * FROM meta_dicts ORDER BY id",
    "text_dicts": "SELECT * FROM text_dicts ORDER BY id",
}


# ---- recording ---------------------------------------------------------------------------------


def record(size: int, out: Path, latency_s: float, concurrency: int) -> None:
    from scale.project import make_scale_project
    from scale.scripted_server import spawn_scripted_server

    from sftgen.store.store import Store

    calls: list[bytes] = []
    lock = threading.Lock()

    def recording(name: str, method):
        def call(self, *args, **kwargs):
            with lock:  # pickled now: a caller may change what it passed once the call returns
                calls.append(pickle.dumps((name, args, kwargs, time.time())))
            return method(self, *args, **kwargs)
        return call

    for name in RECORDED:
        setattr(Store, name, recording(name, getattr(Store, name)))
    with tempfile.TemporaryDirectory(prefix="commit-replay-") as folder, spawn_scripted_server(latency_s) as server:
        project = make_scale_project(Path(folder) / "project", size, server.base_url, concurrency)
        from sftgen.cli import app

        sys.argv = ["sftgen", "run", str(project)]
        try:
            app()
        except SystemExit as stop:
            if stop.code:
                raise
    out.write_bytes(pickle.dumps(calls))
    print(f"{len(calls):,} store calls recorded to {out}")


# ---- replaying ---------------------------------------------------------------------------------


class Meter:
    """CPU inside the timed Store methods by step, and inside each SQL statement they run."""

    def __init__(self, statements: bool):
        self.statements = statements
        self.inside: str | None = None  # "commit_batch <step>" while one is timed
        self.method: dict[str, float] = collections.Counter()
        self.sql: dict[str, float] = collections.Counter()
        self.items: dict[str, int] = collections.Counter()
        self.outputs: dict[str, int] = collections.Counter()

    def install(self) -> None:
        if not self.statements:
            return
        import sftgen.store.db as store_db

        connection = store_db.StoreConnection
        for attribute in ("execute", "executemany"):
            setattr(connection, attribute, self.timed_sql(getattr(connection, attribute), attribute == "executemany"))

    def timed_sql(self, method, many: bool):
        meter = self

        def call(self, sql, *args):
            if meter.inside is None:
                return method(self, sql, *args)
            started = time.process_time()
            try:
                cursor = method(self, sql, *args)
                return cursor if cursor.description is None else Fetched(cursor)
            finally:
                words = ("many " if many else "") + " ".join(sql.split()[:6])
                meter.sql[(meter.inside, words)] += time.process_time() - started
        return call


class Fetched:
    """A query's rows, all fetched inside the timed call (a cursor steps through most of them after it)."""

    def __init__(self, cursor):
        self.rows = cursor.fetchall()
        self.description, self.lastrowid, self.rowcount = cursor.description, cursor.lastrowid, cursor.rowcount

    def fetchall(self) -> list:
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def __iter__(self):
        return iter(self.rows)


def step_of(name: str, args: tuple, kwargs: dict) -> str:
    return args[0] if args else kwargs["step"]


def replay(recording: Path, statements: bool, digest: bool, pragmas: Sequence[str] = ()) -> dict[str, Any]:
    from sftgen.store.store import Store

    calls = pickle.loads(recording.read_bytes())
    meter = Meter(statements)
    meter.install()
    real_time = time.time
    graph = graph_of(calls)
    with tempfile.TemporaryDirectory(prefix="commit-replay-") as folder:
        store = Store(Path(folder) / "store.db", graph)
        # as `sftgen run` opens its store (run/open.py); `compare` may run this on an older checkout, whose run
        # called it widen_page_cache or tuned nothing
        tune = getattr(store.db, "tune_for_a_run", None) or getattr(store.db, "widen_page_cache", None)
        if tune is not None:
            tune()
        for pragma in pragmas:  # what-ifs: `--pragma mmap_size=268435456`
            store.conn.execute(f"PRAGMA {pragma}")
        started = time.process_time()
        for blob in calls:
            name, args, kwargs, at = pickle.loads(blob)
            method = getattr(store, name)
            time.time = lambda: at  # the rows' created_at / done_at as the run wrote them
            try:
                if name not in TIMED:
                    method(*args, **kwargs)
                    continue
                key = f"{name} {step_of(name, args, kwargs)}"
                meter.inside = key
                before = time.process_time()
                answer = method(*args, **kwargs)
                meter.method[key] += time.process_time() - before
                meter.inside = None
                if name == "commit_batch":
                    results = list(args[2])
                    meter.items[key] += len(results)
                    meter.outputs[key] += sum(len(result.outputs) for result in results)
                else:
                    meter.items[key] += len(answer)
            finally:
                time.time = real_time
        total = time.process_time() - started
        figures = {"total_s": total, "method_s": dict(meter.method), "items": dict(meter.items),
                   "outputs": dict(meter.outputs), "sql_s": {" | ".join(key): v for key, v in meter.sql.items()}}
        if digest:
            figures["digest"] = table_digests(store)
        store.close()
    return figures


def graph_of(calls: list[bytes]) -> dict[str, list[str]]:
    """The step graph, from the pages the steps read (step -> its upstream steps); a step that reads no page
    (ingest) consumes nothing. Withdrawals walk it."""
    graph: dict[str, list[str]] = {}
    for blob in calls:
        name, args, kwargs, _ = pickle.loads(blob)
        if name == "pending_inputs":
            graph[args[0]] = list(args[1])
        elif name == "commit_batch":
            graph.setdefault(args[0], [])
    return graph


def table_digests(store) -> dict[str, str]:
    digests = {}
    for table, query in DIGESTED.items():
        hashed = hashlib.blake2b(digest_size=16)
        for row in store.conn.execute(query):
            hashed.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
        digests[table] = hashed.hexdigest()
    return digests


def print_replay(figures: dict[str, Any], top: int) -> None:
    print(f"replay: {figures['total_s']:.2f} CPU-s in all")
    print(f"  {'part':42} {'items':>7} {'outputs':>8} {'µs/item':>8} {'µs/output':>9}")
    total_commit = total_items = 0.0
    for key in sorted(figures["method_s"], key=lambda k: -figures["method_s"][k]):
        seconds, items, outputs = figures["method_s"][key], figures["items"][key], figures["outputs"].get(key, 0)
        if key.startswith("commit_batch"):
            total_commit += seconds
            total_items += items
        per_output = f"{seconds / outputs * 1e6:9.1f}" if outputs else " " * 9
        print(f"  {key:42} {items:7,} {outputs:8,} {seconds / max(1, items) * 1e6:8.1f} {per_output}")
    print(f"  commit_batch in all: {total_commit:.2f} CPU-s, {total_commit / max(1, total_items) * 1e6:.1f} µs per item")
    if figures["sql_s"]:
        by_part: dict[str, float] = collections.Counter()
        for key, seconds in figures["sql_s"].items():
            by_part[key.split(" | ")[1]] += seconds if key.startswith("commit_batch") else 0.0
        sql = sum(by_part.values())
        print(f"  commit_batch's SQL: {sql:.2f} CPU-s ({sql / max(1, total_items) * 1e6:.1f} µs per item), "
              f"the rest (Python) {total_commit - sql:.2f} CPU-s; by statement, µs per item committed:")
        for words, seconds in sorted(by_part.items(), key=lambda item: -item[1])[:top]:
            print(f"    {seconds / max(1, total_items) * 1e6:6.2f}  {words}")
        pages: dict[str, float] = collections.Counter()
        for key, seconds in figures["sql_s"].items():
            if key.startswith("pending_inputs"):
                pages[key.split(" | ")[0].split()[1]] += seconds
        if pages:
            print("  pending_inputs' SQL by step, µs per input: " + ", ".join(
                f"{step} {seconds / max(1, figures['items'][f'pending_inputs {step}']) * 1e6:.1f}"
                for step, seconds in sorted(pages.items())))
    if "digest" in figures:
        print("  digests: " + json.dumps(figures["digest"]))


# ---- comparing two versions ------------------------------------------------------------------


def compare(recording: Path, base: Path, rounds: int) -> None:
    """Replays taking turns on the two codes, each in its own process; each step's best round counts."""
    here = ROOT / "src"
    best: dict[str, dict[str, float]] = {"base": {}, "this": {}}
    digests: dict[str, dict[str, str]] = {}
    for _ in range(rounds):
        for label, source in (("base", base), ("this", here)):
            figures = json.loads(subprocess.run(
                [sys.executable, __file__, "replay", str(recording), "--json", "--digest"], check=True,
                capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(source)}).stdout)
            digests[label] = figures["digest"]
            for key, seconds in figures["method_s"].items():
                per_item = seconds / max(1, figures["items"][key]) * 1e6
                best[label][key] = min(best[label].get(key, float("inf")), per_item)
            commits = [k for k in figures["method_s"] if k.startswith("commit_batch")]
            whole = sum(figures["method_s"][k] for k in commits)
            best[label]["commit_batch (all)"] = min(best[label].get("commit_batch (all)", float("inf")), whole)
    print(f"best of {rounds} rounds each, CPU µs per item (commit_batch (all): CPU-s)")
    print(f"  {'part':42} {'base':>8} {'this':>8} {'ratio':>6}")
    for key in sorted(best["base"], key=lambda k: (not k.endswith("(all)"), k)):
        old, new = best["base"][key], best["this"].get(key, float("nan"))
        print(f"  {key:42} {old:8.2f} {new:8.2f} {new / old:6.2f}")
    same = digests["base"] == digests["this"]
    print("  the tables are " + ("byte-identical" if same else "DIFFERENT: " + ", ".join(
        table for table in digests["base"] if digests["base"][table] != digests["this"].get(table))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record")
    recording.add_argument("--size", type=int, default=2000)
    recording.add_argument("--out", type=Path, required=True)
    recording.add_argument("--latency", type=float, default=0.2)
    recording.add_argument("--concurrency", type=int, default=64)
    replaying = commands.add_parser("replay")
    replaying.add_argument("recording", type=Path)
    replaying.add_argument("--statements", action="store_true", help="time each SQL statement too")
    replaying.add_argument("--digest", action="store_true", help="a digest of each table after the replay")
    replaying.add_argument("--json", action="store_true")
    replaying.add_argument("--top", type=int, default=14)
    replaying.add_argument("--pragma", action="append", default=[], metavar="NAME=VALUE",
                           help="set on the replay's connection after the run's own settings (repeatable)")
    comparing = commands.add_parser("compare")
    comparing.add_argument("recording", type=Path)
    comparing.add_argument("--base", type=Path, required=True, help="the other code's src folder")
    comparing.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.command == "record":
        record(args.size, args.out, args.latency, args.concurrency)
    elif args.command == "replay":
        figures = replay(args.recording, args.statements, args.digest, args.pragma)
        print(json.dumps(figures) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            print_replay(figures, args.top)
    else:
        compare(args.recording, args.base, args.rounds)


if __name__ == "__main__":
    main()
