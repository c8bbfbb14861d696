"""The dry run's minutes from what the preview measured: the arithmetic alone (latency, requests in flight,
CPU per input, inputs), no preview and no clock."""

from __future__ import annotations

import pytest

from sftgen.estimate.measure import Measurement, Round
from sftgen.estimate.preview import split
from sftgen.estimate.timing import StepTiming, loop_throughput, step_seconds


def llm_step(cpu_per_input_s: float, concurrency: int = 64, latency_s: float = 0.2, fixed_cpu_s: float = 0.0):
    return StepTiming(latency_s, cpu_per_input_s, fixed_cpu_s, seconds_per_input=latency_s, concurrency=concurrency)


def test_a_step_whose_cpu_is_negligible_takes_its_requests_over_the_requests_in_flight_plus_one_chain():
    seconds, how = step_seconds(llm_step(0.0), True, inputs=2000, requests=2000, run_latency_s=None)
    assert how["llm_s"] == pytest.approx(2000 * 0.2 / 64)
    assert seconds == pytest.approx(2000 * 0.2 / 64 + 0.2)  # the last input's one request
    assert how["bound"] == "llm"


def test_cpu_well_below_the_requests_overlaps_them_instead_of_adding_to_them():
    # 2,000 answers at 2.25 ms CPU each, 0.2 s per request, 64 in flight: the run took 7.2 s (4.5 CPU-s
    # beside 6.25 s of requests); adding the two said 11
    seconds, how = step_seconds(llm_step(0.00225), True, inputs=2000, requests=2000, run_latency_s=None)
    llm_s, cpu_s = how["llm_s"], how["cpu_s"]
    assert max(llm_s, cpu_s) < seconds < 1.15 * (max(llm_s, cpu_s) + 0.2)
    assert seconds < 0.7 * (llm_s + cpu_s)


def test_cpu_above_latency_over_in_flight_sets_the_pace():
    # 10 ms CPU per input against 0.2 s / 64 = 3.1 ms: the one event loop is the bottleneck
    seconds, how = step_seconds(llm_step(0.010), True, inputs=2000, requests=2000, run_latency_s=None)
    assert how["bound"] == "cpu"
    assert how["cpu_s"] == pytest.approx(20.0)
    assert 20.0 < seconds < 20.0 + 2 * 0.2 + 1.0


def test_one_request_in_flight_alternates_requests_and_cpu():
    seconds, _ = step_seconds(llm_step(0.05, concurrency=1), True, inputs=10, requests=10, run_latency_s=None)
    assert seconds == pytest.approx(10 * (0.2 + 0.05) + 0.2)


def test_a_shared_core_stretches_the_cpu_and_what_the_step_does_once():
    alone, _ = step_seconds(llm_step(0.010, fixed_cpu_s=1.0), True, 2000, 2000, None, cpu_share=1.0)
    shared, how = step_seconds(llm_step(0.010, fixed_cpu_s=1.0), True, 2000, 2000, None, cpu_share=0.5)
    assert how["cpu_s"] == pytest.approx(2 * (2000 * 0.010 + 1.0))
    assert shared == pytest.approx(2 * alone, rel=0.05)  # CPU-bound: twice the CPU, about twice the time


def test_requests_per_input_make_the_last_chain_longer():
    seconds, how = step_seconds(llm_step(0.0), True, inputs=100, requests=300, run_latency_s=None)
    assert how["tail_s"] == pytest.approx(3 * 0.2)
    assert seconds == pytest.approx(300 * 0.2 / 64 + 3 * 0.2)


def test_a_step_without_its_own_latency_uses_the_runs():
    timing = StepTiming(None, 0.0, 0.0, 0.0, 8)
    seconds, how = step_seconds(timing, True, inputs=80, requests=80, run_latency_s=0.5)
    assert how["latency_s"] == 0.5
    assert seconds == pytest.approx(80 * 0.5 / 8 + 0.5)


def test_a_step_without_llm_takes_its_cpu_or_its_inputs_wall_time_over_its_concurrency():
    cpu_bound, how = step_seconds(StepTiming(None, 0.002, 0.5, 0.001, 1), False, 1000, 0, 0.2)
    assert cpu_bound == pytest.approx(1000 * 0.002 + 0.5) and how["bound"] == "cpu"
    waits, how = step_seconds(StepTiming(None, 0.0001, 0.0, 0.4, 16), False, 1000, 0, 0.2)
    assert waits == pytest.approx(1000 * 0.4 / 16) and how["bound"] == "wall"


def test_the_loop_throughput_tends_to_in_flight_over_latency_and_to_one_over_the_cpu():
    assert loop_throughput(0.2, 1e-6, 64) == pytest.approx(64 / 0.2, rel=1e-3)
    assert loop_throughput(0.2, 0.1, 64) == pytest.approx(1 / 0.1, rel=1e-3)
    assert loop_throughput(0.2, 0.0, 64) == pytest.approx(64 / 0.2)


def test_the_preview_rounds_are_one_input_one_input_and_the_rest():
    assert split(32) == [1, 1, 30]
    assert split(4) == [1, 1, 2]
    assert split(3) == [3]


def rows(count: int) -> list[dict]:
    return [{"outcome": "kept", "reason": None, "seconds": 0.2, "llm_requests": 1} for _ in range(count)]


def test_cpu_per_input_is_the_slope_between_the_later_rounds_without_what_each_call_costs():
    # each call 10 ms whatever its size, 1 ms per input, loading a model 500 ms in the first round
    measured = Measurement("answer", True, 64, 80, [Round(rows(1), 0.511, 0.7), Round(rows(1), 0.011, 0.2),
                                                    Round(rows(30), 0.040, 0.3)])
    assert measured.cpu_per_input() == pytest.approx(0.001)
    assert measured.fixed_cpu_s() == pytest.approx(0.510)
