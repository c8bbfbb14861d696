import gc

from sftgen.run.collections import RUN_THRESHOLDS, fewer_collections


def test_the_collector_runs_less_often_inside_and_as_before_after():
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == before


def test_the_thresholds_come_back_when_the_run_fails():
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("a step failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
