"""A webhook delivery worker in its own process (``python -m tests.webhook.worker_main``), configured
from ``OMS_*`` environment variables like ``oms worker``; the tests kill it at will."""

from __future__ import annotations

import asyncio

from oms.config import Settings
from oms.db import Database
from oms.kit.time import SystemClock
from oms.webhook.wiring import build_webhooks


async def main() -> None:
    settings = Settings()
    db = Database(settings)
    delivery = build_webhooks(settings, root=settings.secret_key_bytes(), clock=SystemClock(), db=db)[
        "webhook_delivery"
    ]
    print("ready", flush=True)
    try:
        while True:
            if not await delivery.run():
                await asyncio.sleep(settings.webhook_poll_seconds)
    finally:
        await delivery.close()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
