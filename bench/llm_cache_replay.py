"""The CPU of the LLM request cache's writes (`Store.cache_put_many`) and misses (`Store.cache_get`) over a
whole run, replayed from bench/commit_replay.py's recording: every store call is made again on a fresh
store (the commits too, so the requests meet the texts they refer to as the run's did), and before each
recorded put, a `cache_get` of each of its keys (a miss, as the client's lookup is on a fresh run).

`--wire` passes each reply as JSON bytes (`json.dumps` of the recorded dict: what the scripted server sends)
in place of the dict, as the client does when it keeps the reply's wire bytes. `--statements` splits the
put's CPU by SQL statement. The digest is of the cache's rows as read back (`cache_entry`: the decoded
request and reply), so two versions that store other bytes for the same values give the same digest.

    PYTHONPATH=src python bench/llm_cache_replay.py replay /tmp/s27-commit/run-2000.pickle [--wire] [--statements]
    PYTHONPATH=src python bench/llm_cache_replay.py compare /tmp/s27-commit/run-2000.pickle --base /tmp/base/src \\
        [--wire-this] [--wire-base] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.append(str(BENCH))

from commit_replay import Meter, graph_of  # noqa: E402


def wire_rows(rows: list[tuple]) -> list[tuple]:
    return [(key, model, request, json.dumps(response).encode("utf-8"), usage)
            for key, model, request, response, usage in rows]


def replay(recording: Path, wire: bool, statements: bool) -> dict[str, Any]:
    from sftgen.store.store import Store

    calls = [pickle.loads(blob) for blob in pickle.loads(recording.read_bytes())]
    meter = Meter(statements)  # the SQL timers of bench/commit_replay.py, for the puts alone
    meter.install()
    real_time = time.time
    put_s = get_s = 0.0
    requests = 0
    with tempfile.TemporaryDirectory(prefix="llm-cache-replay-") as folder:
        store = Store(Path(folder) / "store.db", graph_of([pickle.dumps(call) for call in calls]))
        for name, args, kwargs, at in calls:
            time.time = lambda: at
            try:
                if name != "cache_put_many":
                    getattr(store, name)(*args, **kwargs)
                    continue
                rows = wire_rows(args[0]) if wire else args[0]
                before = time.process_time()
                for row in rows:
                    store.cache_get(row[0])
                middle = time.process_time()
                meter.inside = "cache_put_many"
                store.cache_put_many(rows)
                meter.inside = None
                put_s += time.process_time() - middle
                get_s += middle - before
                requests += len(rows)
            finally:
                time.time = real_time
        digest = cache_digest(store)
        store.close()
    return {"put_us": put_s / requests * 1e6, "get_us": get_s / requests * 1e6, "requests": requests,
            "sql_us": {words: seconds / requests * 1e6 for (_, words), seconds in meter.sql.items()}, "digest": digest}


def cache_digest(store) -> str:
    hashed = hashlib.blake2b(digest_size=16)
    keys = [row[0] for row in store.conn.execute("SELECT key FROM llm_cache ORDER BY key")]
    for key in keys:
        entry = store.cache_entry(key)
        row = store.conn.execute("SELECT model, prompt_tokens, completion_tokens, created_at FROM llm_cache "
                                 "WHERE key=?", (key,)).fetchone()
        hashed.update(json.dumps([entry, tuple(row)], sort_keys=True).encode("utf-8"))
        assert store.cache_get(key) == entry["response"]
    return hashed.hexdigest()


def compare(recording: Path, base: Path, rounds: int, wire_this: bool, wire_base: bool) -> None:
    best: dict[str, dict[str, float]] = {"base": {}, "this": {}}
    digests = {}
    for _ in range(rounds):
        for label, source, wire in (("base", base, wire_base), ("this", BENCH.parent / "src", wire_this)):
            command = [sys.executable, __file__, "replay", str(recording), "--json"] + (["--wire"] if wire else [])
            figures = json.loads(subprocess.run(command, check=True, capture_output=True, text=True,
                                                env={**os.environ, "PYTHONPATH": str(source)}).stdout)
            digests[label] = figures["digest"]
            for part in ("put_us", "get_us"):
                best[label][part] = min(best[label].get(part, float("inf")), figures[part])
    print(f"best of {rounds} rounds each, CPU µs per request")
    for part in ("put_us", "get_us"):
        old, new = best["base"][part], best["this"][part]
        print(f"  {part:8} base {old:7.1f}  this {new:7.1f}  ratio {new / old:5.2f}")
    print("  the cache's values are " + ("the same" if digests["base"] == digests["this"] else "DIFFERENT"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    replaying = commands.add_parser("replay")
    replaying.add_argument("recording", type=Path)
    replaying.add_argument("--wire", action="store_true")
    replaying.add_argument("--statements", action="store_true")
    replaying.add_argument("--json", action="store_true")
    comparing = commands.add_parser("compare")
    comparing.add_argument("recording", type=Path)
    comparing.add_argument("--base", type=Path, required=True)
    comparing.add_argument("--rounds", type=int, default=3)
    comparing.add_argument("--wire-this", action="store_true")
    comparing.add_argument("--wire-base", action="store_true")
    args = parser.parse_args()
    if args.command == "compare":
        compare(args.recording, args.base, args.rounds, args.wire_this, args.wire_base)
        return
    figures = replay(args.recording, args.wire, args.statements)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{figures['requests']:,} requests: put {figures['put_us']:.1f} µs, get (miss) {figures['get_us']:.1f} µs "
          f"CPU per request; digest {figures['digest']}")
    for words, us in sorted(figures["sql_us"].items(), key=lambda item: -item[1]):
        print(f"  {us:6.2f}  {words}")


if __name__ == "__main__":
    main()
