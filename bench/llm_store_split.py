"""Where the store's part of an LLM request goes: bench/llm_step_cpu.py's layers run as it runs them, with the
CPU (of the loop's thread) spent inside the store's calls and inside each SQL statement counted while a
layer is measured (not while its project is made), per request.

Prints, per request and layer: the request cache's write (`cache_put_many`: the request's and the reply's packing,
of which `referenced` finds the store's texts the request quotes, and `text_numbers` their numbers), the
cache read before sending (`cache_get`), the step's result writes (`commit_batch`), its input reads
(`pending_inputs`), the cache key, BEGIN and COMMIT; then the SQL statements by their first words, with
how many ran. The counts are the steady figure (the machine's load moves the microseconds).

    PYTHONPATH=src .venv/bin/python bench/llm_store_split.py [--layers prompt_filter] [--items 3000]
"""

from __future__ import annotations

import collections
import functools
import sys
import time

import llm_step_cpu  # fixes sys.path

import sftgen.llm.client as client
import sftgen.store.batch_writes as batch_writes
import sftgen.store.db as store_db
import sftgen.store.llm_cache as llm_cache
import sftgen.store.store as store

measuring = [""]
"""The layer measured now ("": none)."""
spent: collections.Counter[tuple[str, str]] = collections.Counter()
calls: collections.Counter[tuple[str, str]] = collections.Counter()
CALLS = [
    (store.Store, "cache_put_many", "cache_put_many"),
    (llm_cache.LLMCache, "packed_request", "  packed_request"),
    (llm_cache, "referenced", "    referenced"),
    (llm_cache.LLMCache, "text_numbers", "      text_numbers"),
    (llm_cache.LLMCache, "packed_reply", "  packed_reply"),
    (store.Store, "cache_get", "cache_get"),
    (client, "cache_key", "cache_key"),
    (store.Store, "commit_batch", "commit_batch"),
    (batch_writes, "write", "  batch_writes.write"),
    (store.Store, "pending_inputs", "pending_inputs"),
]


def timed(function, label: str):
    @functools.wraps(function)
    def call(*args, **kwargs):
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            if measuring[0]:
                spent[measuring[0], label] += time.thread_time() - started
                calls[measuring[0], label] += 1
    return call


def statement_timed(method, many: bool):
    def call(self, sql, *args):
        started = time.thread_time()
        try:
            return method(self, sql, *args)
        finally:
            if measuring[0]:
                label = "SQL " + ("many " if many else "") + " ".join(sql.split()[:6])
                spent[measuring[0], label] += time.thread_time() - started
                calls[measuring[0], label] += 1
    return call


def main() -> None:
    for owner, name, label in CALLS:
        setattr(owner, name, timed(getattr(owner, name), label))
    connection = store_db.StoreConnection
    connection.execute = statement_timed(connection.execute, many=False)
    connection.executemany = statement_timed(connection.executemany, many=True)
    measured = llm_step_cpu.cpu_ms

    def cpu_ms(run, requests: int, layer: str = ""):
        measuring[0] = layer
        try:
            return measured(run, requests, layer)
        finally:
            measuring[0] = ""

    llm_step_cpu.cpu_ms = cpu_ms
    argv = sys.argv[1:]
    if "--layers" not in argv:
        argv += ["--layers", "prompt_filter"]
    items = int(argv[argv.index("--items") + 1]) if "--items" in argv else 3000
    layers = [name for name in argv[argv.index("--layers") + 1].split(",")]
    sys.argv = [sys.argv[0], *argv]
    llm_step_cpu.main()
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 1
    requests = items * repeat
    for layer in [name for name in llm_step_cpu.LAYERS if name in layers and name != "plain"]:  # plain has no store
        print(f"\n{layer}: the store's calls and statements, CPU µs per request ({requests} requests):")
        for _, _, label in CALLS:
            print(f"  {1e6 * spent[layer, label] / requests:8.1f}  {calls[layer, label]:7d} calls  {label}")
        for (of, label), seconds in spent.most_common():
            if of == layer and label.startswith("SQL ") and seconds * 1e6 / requests >= 0.5:
                print(f"  {1e6 * seconds / requests:8.1f}  {calls[layer, label]:7d} runs   {label[4:]}")


if __name__ == "__main__":
    main()
