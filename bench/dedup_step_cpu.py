"""CPU per prompt of the dedup step as the executor runs it (a first run: no dedup index, every prompt new),
over a copy of a project a `bench/pipeline_scale.py --keep DIR` run left; rounds alternate the meta updates
of every kept prompt (each key dedup sets, cleared: the store reads each prompt's meta to change nothing)
with only the keys the prompt's meta has (none on a first run), and print each round's CPU with the best
and the median of each way. The kept project is only read (copied to `--copy DIR` or a temporary folder).

    PYTHONPATH=src .venv/bin/python bench/dedup_step_cpu.py KEPT/project-20000 [--rounds 3] [--copy DIR]
"""

from __future__ import annotations

import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/gate_cpu.py runs the step
from gate_cpu import arguments, one_round, timed_copy  # noqa: E402

from sftgen.steps import dedup  # noqa: E402

WAYS = {"every key cleared": lambda item: dict(dedup.CLEARED_META), "the keys it has": dedup.cleared}


def main() -> None:
    args = arguments(__doc__)
    figures: dict[str, list[float]] = {way: [] for way in WAYS}
    with timed_copy(args, "dedup-cpu-") as (copy, windows):
        for round_ in range(args.rounds):
            for way, cleared in WAYS.items():
                dedup.cleared = cleared
                shutil.rmtree(copy / ".sftgen" / "dedup", ignore_errors=True)  # a first run: no index
                cpu, done = one_round(copy, windows, ("dedup",))["dedup"]
                figures[way].append(1000 * cpu / max(1, done))
                print(f"round {round_ + 1} {way}: {done:,} prompts {cpu:.2f} CPU-s = {figures[way][-1]:.3f} ms per prompt",
                      flush=True)
        dedup.cleared = WAYS["the keys it has"]
    print("dedup: " + "; ".join(f"{way} best {min(v):.3f} ms (median {statistics.median(v):.3f})" for way, v in figures.items()))


if __name__ == "__main__":
    main()
