"""The executor's pool over a step's pending inputs: a failure while reading them (a page's store read, a
step's `prepare_inputs`) fails the step loudly instead of passing for a step with nothing left to do."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from sftgen.core.step import Step, keep
from sftgen.recipe.model import Filters
from sftgen.records import Record
from sftgen.run.executors.local import LocalExecutor


class Copy(Step):
    name = "copy"


class Batch:
    def __init__(self):
        self.results = []

    def add(self, result):
        self.results.append(result)

    def flush(self):
        pass


def run_pool(inputs):
    ctx = SimpleNamespace(recipe=SimpleNamespace(filters=Filters()), item=lambda step: SimpleNamespace(
        cache_keys=[], llm_requests=0, cache_hits=0, prompt_tokens=0, completion_tokens=0))
    batch = Batch()

    async def handler(item, ictx):
        return keep()

    done = asyncio.run(LocalExecutor().run_pool(Copy(), ctx, inputs, batch, handler))
    return done, batch.results


def test_a_failure_reading_the_inputs_fails_the_step():
    async def inputs():
        yield Record(kind="chunk", text="first")
        raise RuntimeError("the next page could not be read")

    with pytest.raises(RuntimeError, match="next page"):
        run_pool(inputs())


def test_inputs_read_to_their_end_are_all_processed():
    async def inputs():
        for index in range(5):
            yield Record(kind="chunk", text=f"chunk {index}")

    done, results = run_pool(inputs())
    assert done == 5 and [result.outcome for result in results] == ["kept"] * 5
