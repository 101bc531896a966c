"""``create_app(settings)``: the FastAPI application with its routers, middleware and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from oms import API_PREFIX, openapi, routing, worker
from oms.admin import openapi as admin_openapi
from oms.admin.endpoints import PREFIX as ADMIN_PREFIX
from oms.admin.endpoints import router as admin_router
from oms.auth.endpoints import router as auth_router
from oms.config import Mode, Settings
from oms.console.endpoints import assets as console_assets
from oms.console.endpoints import router as console_router
from oms.context import AppContext
from oms.customer.endpoints import router as customer_router
from oms.errors import NotFound, OMSError
from oms.event.endpoints import router as event_router
from oms.fastlane import FastLane, Services
from oms.funding.cash_in.endpoints import router as cash_in_router
from oms.funding.cash_location.endpoints import router as cash_location_router
from oms.funding.deposit_address.endpoints import router as deposit_address_router
from oms.funding.simulation.endpoints import router as simulation_router
from oms.funding.virtual_account.endpoints import router as virtual_account_router
from oms.health import migration_heads
from oms.health import router as health_router
from oms.kit.time import Clock
from oms.metrics.endpoints import router as metrics_router
from oms.metrics.middleware import HttpMetrics
from oms.middleware import RequestContextMiddleware
from oms.quote.endpoints import router as quote_router
from oms.ratelimit.middleware import RateLimits
from oms.responses import JSONResponse
from oms.routing import error_response, validation_error
from oms.sandbox.endpoints import clock_router
from oms.sandbox.endpoints import router as sandbox_router
from oms.transaction.endpoints import router as transaction_router
from oms.wallet.endpoints import router as wallet_router
from oms.webhook.endpoints import router as webhook_router

ROUTERS: tuple[APIRouter, ...] = (auth_router, customer_router, wallet_router, quote_router, transaction_router)
ROUTERS += (webhook_router, event_router, cash_location_router, cash_in_router, virtual_account_router)
ROUTERS += (deposit_address_router,)
# Simulation and test-only endpoints exist only on a sandbox server (404 in live mode).
SANDBOX_ROUTERS = (sandbox_router, simulation_router, clock_router)
DOCS_ASSETS = f"{API_PREFIX}/docs/assets"


def create_app(settings: Settings, *, clock: Clock | None = None, ctx: AppContext | None = None) -> FastAPI:
    context = ctx or AppContext.build(settings, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await context.start()
        # Everything alive now (modules, the app, the context) lives as long as the process. Left to the
        # collector, each full collection walks it all: 85 ms with the event loop stopped, the tail of
        # every request in flight (BENCHMARKS.md). Frozen objects are never scanned.
        gc.collect()
        gc.freeze()
        background = [asyncio.create_task(worker.run_all(context))] if settings.embedded_worker else []
        if settings.metrics:
            background.append(asyncio.create_task(context.metrics.count_pools_forever()))
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if settings.metrics:
                context.metrics.process_ended()
            await context.close()

    # The docs page loads Swagger UI from the installed package, not a CDN: custodial servers often run offline.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="OMS API",
        version="0.9",
        lifespan=lifespan,
        description="Custodial wallets and stablecoin payments (OMS API v0.9), self-hosted.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        default_response_class=JSONResponse,
        telemetry=context.tracing.telemetry(),
    )
    # What routes ask for, by class (routing.provided); the context itself is for tools (bench/) and tests.
    app.state.provided = context.provided()
    app.state.ctx = context
    app.state.migration_heads = migration_heads(settings.database_url)
    app.include_router(health_router)
    if settings.metrics:
        app.include_router(metrics_router)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if settings.mode is Mode.sandbox:
        for router in SANDBOX_ROUTERS:
            app.include_router(router, prefix=API_PREFIX)
    # The admin API (/admin/v1): its own routes, authentication and OpenAPI document, outside the OMS API's.
    admin_openapi.install(app, admin_router, swagger_assets=DOCS_ASSETS)
    # The operator console (/console): HTML pages on the admin API's services and operator sessions.
    app.include_router(console_assets)  # first: the console's last route answers every other /console path
    app.include_router(console_router)
    if settings.hot_reads:  # added first, so it runs inside the request context (request id, access log)
        app.add_middleware(FastLane, services=fast_lane_services(context))
    limiting = context.rate_limiting
    if limiting.enabled:  # outside the fast lane, inside the request context: every answer is limited alike
        app.add_middleware(
            RateLimits,
            families=limiting.families,
            counters=limiting.counters,
            key_of_authorization=context.auth.signer.key_id_of,
            addresses=limiting.addresses,
            store_timeout=settings.rate_limit_store_timeout_seconds,
            store_retry=settings.rate_limit_store_retry_seconds,
        )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.metrics:  # outermost: every answer is counted, the request context's own refusals too
        app.add_middleware(HttpMetrics)
    _install_error_handlers(app)
    openapi.install(app)
    return app


def fast_lane_services(context: AppContext) -> Services:
    """What the fast lane (oms/fastlane) uses: the endpoints' own services and settings."""
    return Services(
        db=context.db,
        signer=context.auth.signer,
        mode=context.settings.mode.value,
        clock=context.clock,
        quotes=context.quotes,
        transactions=context.transactions,
        controls=context.controls,
        idempotency=context.idempotency,
        audit=context.audit,
        addresses=context.rate_limiting.addresses,
    )


def _methods_at(app: FastAPI, path: str) -> list[str]:
    """The methods the API documents at ``path`` (its OpenAPI document lists every operation)."""
    methods: set[str] = set()
    documented = admin_openapi.cached_document(admin_router) if path.startswith(ADMIN_PREFIX) else app.openapi()
    for template, operations in documented["paths"].items():
        if re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(NotFound("unrecognized_request_url", "Unrecognized request URL."))
        error = routing.http_error(exc)
        if exc.status_code == 405:  # Starlette names only the first route of the path; Allow lists them all
            error.headers["Allow"] = ", ".join(_methods_at(app, request.url.path))
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(OMSError)
    async def oms_error(_: Request, exc: OMSError) -> JSONResponse:
        return error_response(exc)

    del http_error, invalid, oms_error  # registered; the names are not used otherwise
