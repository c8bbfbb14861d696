"""SIGKILL `sftgen run` (the whole pipeline, against the fake server) a few times, then let it finish:
every input processed once, outputs emitted once, and no more requests re-sent than were unanswered
at the kills. bench/crash_test.py runs the same check on a longer run and prints its figures."""

from __future__ import annotations

import pytest

from tests.crash_harness import crash_test

pytestmark = pytest.mark.timeout(300)


def test_killed_runs_resume_without_loss_or_repeats(tmp_path):
    report = crash_test(tmp_path, n_docs=60, kills=10, concurrency=8, latency_ms=150, seed=3)
    assert report.kills == 10, f"the run ended before it was killed 10 times: {report}"
    assert report.problems == []
    assert report.resent <= sum(report.in_flight_at_kills)
    assert all(n <= 8 for n in report.in_flight_at_kills)
    assert report.requests > 0
