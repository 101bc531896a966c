"""What counting a request costs, in process: the HttpMetrics layer (oms/metrics/middleware.py) around an app that
answers at once, with one process's registry or, with ``--multiprocess``, in prometheus-client's multiprocess mode
(as under ``oms serve``: every observation written to a memory-mapped file in a scratch directory).

    .venv/bin/python bench/metrics.py [--requests 50000] [--multiprocess]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def _drive(app: Any, requests: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/v0.9/wallets/wlt_x/balance", "headers": []}
    scope["oms.route"] = "/v0.9/wallets/{wallet_id}/balance"  # as the fast lane names it

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_: Any) -> None:
        return None

    started = time.process_time()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    return (time.process_time() - started) / requests * 1e6


async def main(requests: int) -> None:
    from oms.metrics.middleware import HttpMetrics  # after the directory is named (read at import)

    without = await _drive(_answer, requests)
    layer = HttpMetrics(_answer)
    await _drive(layer, 1000)  # warm-up: the series exists
    print(f"without the layer {without:5.2f} us CPU/request, with it {await _drive(layer, requests):5.2f} us")


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50000)
    parser.add_argument("--multiprocess", action="store_true")
    args = parser.parse_args()
    if args.multiprocess:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="oms-bench-metrics-")
    uvloop.run(main(args.requests))
