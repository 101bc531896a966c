"""Group commit (oms/kit/batch.py): concurrent callers' items run together, each caller gets its own result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from oms.kit.batch import Batcher, first_of_each, written_among


class Recorder:
    """A runner that doubles its items and remembers every batch it was given."""

    def __init__(self, *, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.release.wait()
        if self.fail_on in items:
            raise ValueError(f"refused {self.fail_on}")
        return [item * 2 for item in items]


async def test_items_submitted_together_run_as_one_batch_and_each_caller_gets_its_result() -> None:
    runner = Recorder()
    batcher = Batcher(runner, max_size=32)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(5))) == [0, 2, 4, 6, 8]
    assert runner.batches == [[0, 1, 2, 3, 4]]


async def test_an_idle_batcher_runs_a_lone_item_at_once() -> None:
    runner = Recorder()
    batcher = Batcher(runner, max_size=32)
    assert await batcher.submit(7) == 14
    assert await batcher.submit(8) == 16
    assert runner.batches == [[7], [8]]


async def test_items_arriving_during_a_flush_form_the_next_batch() -> None:
    runner = Recorder()
    runner.release.clear()
    batcher = Batcher(runner, max_size=32)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)  # the flush has started and waits in the runner
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3)]
    await asyncio.sleep(0)
    assert runner.batches == [[1]]
    runner.release.set()
    assert await asyncio.gather(first, *later) == [2, 4, 6]
    assert runner.batches == [[1], [2, 3]]


async def test_no_batch_is_larger_than_max_size() -> None:
    runner = Recorder()
    batcher = Batcher(runner, max_size=2)
    await asyncio.gather(*(batcher.submit(n) for n in range(5)))
    assert runner.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_batch_fails_each_of_its_callers_and_no_other() -> None:
    runner = Recorder(fail_on=3)
    batcher = Batcher(runner, max_size=2)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)), return_exceptions=True)
    assert results[:2] == [0, 2] and results[4] == 8
    assert all(isinstance(result, ValueError) for result in results[2:4])


async def test_a_runner_that_loses_results_fails_its_batch() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return list(items)[1:]

    batcher = Batcher(short, max_size=32)
    with pytest.raises(RuntimeError, match="a batch of 2 gave 1 results"):
        await asyncio.gather(batcher.submit(1), batcher.submit(2))


def test_of_twins_in_a_batch_only_the_first_is_kept() -> None:
    keys = ["k1", "k2", "k1", "k3", "k4"]
    quotes = ["q1", "q2", "q3", "q2", "q4"]
    assert first_of_each(keys) == [0, 1, 3, 4]
    assert first_of_each(keys, quotes) == [0, 1, 4]


def test_what_a_statement_wrote_maps_back_to_the_batch_positions() -> None:
    # Items 0, 1 and 4 were sent (1, 2, 3 in the statement); the statement wrote its 1st and 3rd.
    assert written_among(5, [0, 1, 4], [3, 1]) == [True, False, False, False, True]
