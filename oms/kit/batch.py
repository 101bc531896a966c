"""Batches for concurrent callers: their items run together, for example in one statement (group commit).

``submit`` queues an item and waits for its result. One flush runs at a time: the first item starts it on
the next turn of the event loop, so every item submitted meanwhile joins it, and items that arrive while it
runs form the next one. Nothing waits on a timer: an idle server runs each item alone, a busy one in
batches as large as the load makes them (up to ``max_size``). If a flush raises, every item in it gets the
error: the runner must be all or nothing, so that the error means nothing of the batch was written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    def __init__(self, run: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]], *, max_size: int) -> None:
        self._run = run
        self._max_size = max_size
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max_size], self._waiting[self._max_size :]
                await self._run_batch(batch)
        except asyncio.CancelledError:  # shutting down: nobody is left to run what waits
            for _, future in self._waiting:
                future.cancel()
            self._waiting = []
            raise
        finally:
            self._flushing = None

    async def _run_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:  # every caller gets it: nothing of the batch was written
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def first_of_each(*keys: Sequence[Hashable]) -> list[int]:
    """The positions of the items of a batch that share no key with an earlier item kept, in order. ``keys``
    holds, for each kind of key, every item's key of that kind: of twins written together (one
    Idempotency-Key, one quote), only the first is written, as if the others had come just after."""
    seen: list[set[Hashable]] = [set() for _ in keys]
    kept: list[int] = []
    for position, item_keys in enumerate(zip(*keys, strict=True)):
        if any(key in known for key, known in zip(item_keys, seen, strict=True)):
            continue
        for key, known in zip(item_keys, seen, strict=True):
            known.add(key)
        kept.append(position)
    return kept


def written_among(size: int, kept: Sequence[int], batch_indexes: Iterable[int]) -> list[bool]:
    """For each of a batch's ``size`` items, whether it was written: ``kept`` are the positions of the items sent
    (``first_of_each``), ``batch_indexes`` the 1-based positions among those that the statement wrote."""
    written = [False] * size
    for batch_index in batch_indexes:
        written[kept[batch_index - 1]] = True
    return written
