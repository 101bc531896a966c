"""Traces (README, "Metrics"): with OMS_OPENTELEMETRY on, a request is a server span whose children are the
spans of its database statements, and each worker job's pass is a span; no span carries a body or a
statement's parameters. Exported here to the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from oms import worker
from oms.app import create_app
from oms.config import Settings
from oms.context import AppContext
from tests.support import OffsetClock, create_customer, create_wallet, new_api

EXTERNAL_ID = "tracing-secret-external-id-0042"


@pytest.fixture
async def traced(settings: Settings, clock: OffsetClock) -> AsyncIterator[tuple[Any, AppContext, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    configured = settings.model_copy(update={"opentelemetry": True, "embedded_worker": False})
    context = AppContext.build(configured, clock=clock, span_exporter=exporter)
    application = create_app(configured, ctx=context)
    async with application.router.lifespan_context(application):
        yield application, context, exporter


def _attributes(span: ReadableSpan) -> str:
    return " ".join(f"{key}={value}" for key, value in (span.attributes or {}).items())


async def test_a_request_is_a_span_and_its_statements_are_its_children(traced: Any) -> None:
    application, context, exporter = traced
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http:
        api = await new_api(http, context)
        exporter.clear()
        created = await api.post("/customers", {"externalId": EXTERNAL_ID})
    assert created.status_code == 201, created.text
    spans = exporter.get_finished_spans()
    [request] = [span for span in spans if span.parent is None]
    assert "POST" in request.name and "/customers" in request.name
    statements = [span for span in spans if span.attributes and "db.system" in "".join(span.attributes)]
    assert statements, [span.name for span in spans]
    assert {span.context.trace_id for span in spans} == {request.context.trace_id}
    # nothing the client sent is in any span: not its body, not the statements' parameters
    assert not [span.name for span in spans if EXTERNAL_ID in span.name + _attributes(span)]


async def test_each_worker_job_pass_is_a_span(traced: Any) -> None:
    _, context, exporter = traced
    exporter.clear()
    await worker.run_once(context)
    jobs = {span.name for span in exporter.get_finished_spans() if span.name.startswith("job ")}
    assert {"job chain-sender", "job transaction-settlement", "job webhook-delivery"} <= jobs


async def test_without_opentelemetry_nothing_is_traced(client: httpx.AsyncClient, ctx: AppContext) -> None:
    assert not ctx.tracing.enabled
    with ctx.tracing.span("job anything"):
        pass


async def test_the_fast_lanes_statements_are_children_of_its_request(traced: Any, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the fast lane serves on PostgreSQL only")
    application, context, exporter = traced
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://oms.test/v0.9") as http:
        api = await new_api(http, context)
        wallet = await create_wallet(api, (await create_customer(api))["id"])
        exporter.clear()
        balance = await api.get(f"/wallets/{wallet['id']}/balance")
    assert balance.status_code == 200, balance.text
    spans = exporter.get_finished_spans()
    [request] = [span for span in spans if span.parent is None]
    statements = [span for span in spans if span.parent is not None and "postgresql" in _attributes(span)]
    assert statements, [(span.name, _attributes(span)) for span in spans]
    assert {span.context.trace_id for span in statements} == {request.context.trace_id}
