"""Traces (README, "Metrics and traces"): with ``OMS_OPENTELEMETRY=true``, spans of every HTTP request
(FastAPI's own OpenTelemetry, around the whole middleware stack, the fast lane included), of every database
statement (SQLAlchemy's engines and the fast lane's asyncpg pool) and of every worker job, exported over OTLP
to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the OpenTelemetry SDK's own variables configure the exporter).

The SDK is an optional extra (``pip install 'oms[otel]'``): without ``OMS_OPENTELEMETRY`` nothing of it is
imported, and the API's tracer is OpenTelemetry's no-op one. Spans carry no request body, header or statement
parameter: the database instrumentation records the statement text only (its parameters are never bound into
it), and FastAPI's exception logs, which carry messages, stay off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from oms.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from oms.db import Database

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
_NO_TRACING = trace.NoOpTracerProvider()


@dataclass
class Tracing:
    """The process's tracer provider (a no-op one when tracing is off) and what it instruments."""

    provider: trace.TracerProvider = field(default=_NO_TRACING)
    enabled: bool = False
    _instrumented: list[Any] = field(default_factory=list)

    def telemetry(self) -> dict[str, Any]:
        """FastAPI's ``telemetry`` settings: request spans to this provider; its own metrics and logs off (the
        metrics are Prometheus's, and its exception logs carry messages)."""
        return {
            "tracing": self.enabled,
            "tracer_provider": self.provider if self.enabled else None,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
        }

    @contextmanager
    def span(self, name: str, **attributes: str) -> Iterator[None]:
        """A span of the process's own work (a worker job's pass)."""
        if not self.enabled:
            yield
            return
        with self.provider.get_tracer("oms").start_as_current_span(name, attributes=attributes):
            yield

    def instrument(self, db: Database) -> None:
        """Spans of every statement of this process's database: SQLAlchemy's engines, and the fast lane's
        asyncpg pool (opened later, at start)."""
        if not self.enabled:
            return
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        engines = [db.writer.sync_engine] + ([db.reader.sync_engine] if db.reader is not db.writer else [])
        sqlalchemy = SQLAlchemyInstrumentor()
        # Its declared range ends before SQLAlchemy 2.1; the engine events it listens to are unchanged in 2.1
        # (tests/test_tracing.py checks the spans), so the version check is skipped.
        sqlalchemy.instrument(
            engines=engines, tracer_provider=self.provider, enable_commenter=False, skip_dep_check=True
        )
        self._instrumented.append(sqlalchemy)
        if not db.is_sqlite:
            asyncpg = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
            if not asyncpg.is_instrumented_by_opentelemetry:
                asyncpg.instrument(tracer_provider=self.provider)
                self._instrumented.append(asyncpg)

    def close(self) -> None:
        for instrumentor in self._instrumented:
            instrumentor.uninstrument()
        self._instrumented.clear()
        shutdown = getattr(self.provider, "shutdown", None)
        if self.enabled and shutdown is not None:
            shutdown()


def build_tracing(settings: Settings, *, exporter: SpanExporter | None = None) -> Tracing:
    """A provider exporting to ``exporter`` (tests: an in-memory one, each span at once), else over OTLP/HTTP
    to ``OTEL_EXPORTER_OTLP_ENDPOINT`` in batches; a provider without either records nothing."""
    if not settings.opentelemetry:
        return Tracing()
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        raise ConfigurationError(
            "OMS_OPENTELEMETRY=true needs the OpenTelemetry SDK: pip install 'oms[otel]'"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": settings.opentelemetry_service_name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif os.environ.get(OTLP_ENDPOINT_ENV):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider=provider, enabled=True)
