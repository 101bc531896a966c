"""Several API processes share one limit: two real ``oms serve`` processes counting in PostgreSQL (the
default there) or in Redis, requests alternated between them, and exactly the limit is accepted overall."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from oms.config import Settings
from oms.context import AppContext
from tests.support import create_key, free_port, process_env, wait_until_serving

REDIS = ("127.0.0.1", 6379)
LIMIT = 6


@contextmanager
def two_servers(settings: Settings, env: dict[str, str]) -> Iterator[list[str]]:
    processes, bases = [], []
    try:
        for _ in range(2):
            port = free_port()
            environment = {**process_env(settings), "OMS_HOST": "127.0.0.1", "OMS_PORT": str(port), **env}
            environment["OMS_WORKERS"] = "1"
            processes.append(subprocess.Popen([sys.executable, "-m", "oms", "serve"], env=environment))
            bases.append(f"http://127.0.0.1:{port}/v0.9")
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


async def exactly_the_limit_is_accepted(settings: Settings, ctx: AppContext, env: dict[str, str]) -> None:
    limits = {"OMS_RATE_LIMIT_READ_PER_KEY": f"{LIMIT}/minute", **env}
    with two_servers(settings, limits) as bases:
        for base in bases:
            await wait_until_serving(f"{base}/openapi.json", attempts=600)  # a loaded machine starts slowly
        async with httpx.AsyncClient(timeout=30) as http:

            async def signed_in() -> dict[str, str]:
                issued = await create_key(ctx)
                body = {"apiKey": issued.key_id, "apiSecret": issued.secret}
                token = (await http.post(f"{bases[0]}/auth/token", json=body)).json()["accessToken"]
                return {"Authorization": f"Bearer {token}"}

            alternating = await signed_in()
            statuses = [
                (await http.get(f"{bases[turn % 2]}/customers", headers=alternating)).status_code
                for turn in range(2 * LIMIT)
            ]
            assert statuses == [200] * LIMIT + [429] * LIMIT
            # at once, from both: the counter is atomic
            together = await signed_in()
            answers = await asyncio.gather(
                *(http.get(f"{bases[turn % 2]}/customers", headers=together) for turn in range(3 * LIMIT))
            )
            assert sorted(answer.status_code for answer in answers) == [200] * LIMIT + [429] * (2 * LIMIT)


async def test_two_serve_processes_on_postgresql_share_one_limit(settings: Settings, ctx: AppContext) -> None:
    if settings.is_sqlite:
        pytest.skip("the shared PostgreSQL store (SQLite serves one process, counting in memory)")
    await exactly_the_limit_is_accepted(settings, ctx, {})


async def test_two_serve_processes_share_one_limit_through_redis(settings: Settings, ctx: AppContext) -> None:
    try:
        socket.create_connection(REDIS, timeout=1).close()
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    await exactly_the_limit_is_accepted(settings, ctx, {"OMS_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0"})
