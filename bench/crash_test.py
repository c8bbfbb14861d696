"""Crash safety: SIGKILL `sftgen run` at random moments (>= 10 times over one run) against the fake
server, let it finish, and check that every input was processed exactly once, every output emitted
once, and that no more requests were re-sent than were unanswered at the kills.

    .venv/bin/python bench/crash_test.py [--kills 12] [--docs 120]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.crash_harness import crash_test  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sftgen-crash-") as tmp:
        report = crash_test(Path(tmp), n_docs=args.docs, kills=args.kills, concurrency=16, latency_ms=300,
                            seed=args.seed, min_s=0.05, max_s=1.2)
    print(f"runs {report.runs}, SIGKILLs {report.kills}, requests {report.requests}, re-sent {report.resent}, "
          f"unanswered at the kills {report.in_flight_at_kills} (sum {sum(report.in_flight_at_kills)}), "
          f"{time.perf_counter() - started:.0f} s")
    ok = report.kills >= args.kills and not report.problems
    for problem in report.problems:
        print("PROBLEM:", problem)
    if report.kills < args.kills:
        print(f"PROBLEM: the run ended after {report.kills} kills; give it more --docs")
    print("crash safety:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
