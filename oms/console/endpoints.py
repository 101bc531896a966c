"""The operator console's pages (``/console``): HTML for people, on the services the admin API calls.

Every page is a ``ConsoleRoute`` (the OMS API's unit of work: one transaction, writes audited with the operator as
actor, refusals recorded) and declares its role as the admin API's routes do: viewers read, approvers decide
reviews and frozen deposits, admins do everything else. A write is a form posted with the session's CSRF token;
it calls the same service method as the admin API's route, then redirects (303) to the page it came from with
a fixed notice. Pages show what the admin API shows: ids, statuses, amounts, addresses and hashes; never a
customer's name, email, phone or identity data, nor any secret but a new API key's, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.background import BackgroundTask
from starlette.responses import RedirectResponse, Response

from oms.admin.dependencies import set_session_cookie
from oms.admin.schemas import CustomerStatusUpdate, Decision
from oms.audit import Actor
from oms.audit import service as audit
from oms.audit.repository import Filters
from oms.audit.schemas import Outcome
from oms.auth.schemas import ApiKeyCreate, ApiKeyUpdate, TenantCreate
from oms.auth.scopes import Scope
from oms.auth.service import AuthContext, AuthService
from oms.config import Settings
from oms.console import charts
from oms.console.dependencies import (
    CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    Admin,
    Approver,
    Notice,
    Operator,
    TenantOf,
    Viewer,
    form_of,
    validated,
)
from oms.console.pages import STYLESHEET, ConsoleRoute, end_cookies, redirect, render, safe_next
from oms.console.service import ConsoleService
from oms.controls.schemas import ReviewDecision, ReviewKind, ReviewStatus
from oms.controls.service import Reviews
from oms.customer.schemas import CustomerList
from oms.customer.service import CustomerService
from oms.deposit.service import FrozenDeposits
from oms.errors import InvalidRequest, NotFound
from oms.event import service as events
from oms.funding.deposit_address.service import DepositAddressService
from oms.kit.address import ClientAddress
from oms.kit.pagination import PageParams
from oms.operator.schemas import Login
from oms.operator.service import OperatorService
from oms.reconcile.service import Reconciler, ReconcileRun
from oms.routing import Session, provided
from oms.transaction.service import TransactionService
from oms.wallet.service import WalletService
from oms.webhook.service import WebhookService

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
assets = APIRouter(prefix=PREFIX, include_in_schema=False)

Console = Annotated[ConsoleService, Depends(provided(ConsoleService))]
Reconciling = Annotated[Reconciler, Depends(provided(Reconciler))]
Keys = Annotated[AuthService, Depends(provided(AuthService))]
Customers = Annotated[CustomerService, Depends(provided(CustomerService))]
Wallets = Annotated[WalletService, Depends(provided(WalletService))]
Transactions = Annotated[TransactionService, Depends(provided(TransactionService))]
Webhooks = Annotated[WebhookService, Depends(provided(WebhookService))]
ReviewService = Annotated[Reviews, Depends(provided(Reviews))]
Deposits = Annotated[FrozenDeposits, Depends(provided(FrozenDeposits))]
DepositAddresses = Annotated[DepositAddressService, Depends(provided(DepositAddressService))]
Operators = Annotated[OperatorService, Depends(provided(OperatorService))]
Addresses = Annotated[ClientAddress, Depends(provided(ClientAddress))]
Config = Annotated[Settings, Depends(provided(Settings))]
Id = Annotated[str | None, Query(max_length=255)]
PAGE = 25


async def paging(after: Annotated[str | None, Query(max_length=255)] = None) -> PageParams:
    """A page of a list, newest first: ``?after=`` is the previous page's last id (its next cursor)."""
    return PageParams(PAGE, after, None, None, None)


Page = Annotated[PageParams, Depends(paging)]


def tenant_view(tenant_id: str, settings: Settings) -> AuthContext:
    """The tenant's own view of its resources, for an operator: the services scope every query by its tenant id.
    It holds no key and no scope: the console reads through it, and retries a delivery (the tenant API's rule)."""
    return AuthContext(tenant_id, "", settings.mode.value, frozenset())


@assets.get("/static/console.css")
async def stylesheet() -> Response:
    return Response(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600", **_nosniff()})


def _nosniff() -> dict[str, str]:
    return {"X-Content-Type-Options": "nosniff"}


# --- logging in and out ---------------------------------------------------------------------------------


@router.get("/login")
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None, notice: Notice = None
) -> Response:
    return render(request, "login.html", error=None, next=safe_next(next), notice=notice)


@router.post("/login")
async def log_in(request: Request, db: Session, operators: Operators, addresses: Addresses) -> Response:
    """Email, password and (once enrolled, always in live mode) a TOTP code: ``OperatorService.login``, as
    ``POST /admin/v1/session``, with the same lockout. The session's cookie and its CSRF token's are the console's."""
    form = await form_of(request)
    email, password, code = (str(form.get(name) or "") for name in ("email", "password", "totp"))
    if not email or not password:
        raise InvalidRequest("parameter_missing", "Enter the email and the password.", param="email")
    body = validated(Login, {"email": email, "password": password, "totpCode": code or None})  # the admin API's limits
    new = await operators.login(
        db, email=body.email, password=body.password, totp_code=body.totpCode, address=addresses.of(request.scope)
    )
    request.state.actor = Actor("operator", new.operator.id)
    forget = BackgroundTask(operators.guard.forget, list(new.proven)) if new.proven else None
    response = RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303, background=forget)
    for name, value in ((SESSION_COOKIE, new.cookie), (CSRF_COOKIE, new.csrf_token)):
        set_session_cookie(response, name, value, path=PREFIX, max_age=operators.absolute)
    return response


@router.post("/logout")
async def log_out(caller: Operator, db: Session, operators: Operators) -> Response:
    if caller.session_id is not None:
        await operators.logout(db, caller.session_id)
    return end_cookies(redirect("/login", notice="logged_out"))


# --- home -----------------------------------------------------------------------------------------------


@router.get("")
async def home(request: Request, caller: Viewer, db: Session, tenancy: TenantOf, console: Console) -> Response:
    if tenancy.current is None:
        return render(request, "home.html", caller=caller, tenancy=tenancy, home=None, charts={})
    data = await console.home(db, tenancy.id)
    pictures = {
        "volume": [
            (s, charts.bars(f"volume-{n}", s.title, [(p.label, p.value) for p in s.points], unit=s.unit))
            for n, s in enumerate(data.volume)
        ],
        "transfers": charts.bars(
            "transfers", data.transfers.title, [(p.label, p.value) for p in data.transfers.points], unit="transfers"
        ),
        "lag": charts.bars(
            "lag", data.webhook_lag.title, [(p.label, p.value) for p in data.webhook_lag.points], unit="s", labels=8
        ),
        "queues": charts.bars(
            "queues", "Queue depths", [(f"{q.name} {q.status}", float(q.depth)) for q in data.queues], labels=4
        ),
    }
    return render(request, "home.html", caller=caller, tenancy=tenancy, home=data, charts=pictures)


# --- tenants and API keys -------------------------------------------------------------------------------

KeyStatus = Literal["active", "revoked", "expired"]


@router.get("/tenants")
async def tenants_page(
    request: Request,
    caller: Viewer,
    db: Session,
    keys: Keys,
    tenancy: TenantOf,
    page: Page,
    status: KeyStatus | None = None,
    notice: Notice = None,
) -> Response:
    listed = await keys.list_keys(db, page, tenant_id=tenancy.id, status=status) if tenancy.current else None
    return render(
        request,
        "tenants.html",
        caller=caller,
        tenancy=tenancy,
        keys=listed,
        status=status,
        scopes=[scope.value for scope in Scope],
        notice=notice,
    )


@router.post("/tenants")
async def create_tenant(request: Request, caller: Admin, db: Session, keys: Keys) -> Response:
    form = await form_of(request)
    body = validated(TenantCreate, {"name": form.get("name")})
    tenant = await keys.create_tenant(db, body.name)
    request.state.tenant_id = request.state.object_id = tenant["id"]
    return redirect("/tenants", notice="tenant_created", tenant=tenant["id"])


def _expiry(text: str) -> str | None:
    """A date (``YYYY-MM-DD``, the end of that day in UTC) or an ISO 8601 time, as the admin API takes it."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").strftime("%Y-%m-%dT23:59:59Z")
    except ValueError:
        return text


@router.post("/api-keys")
async def create_api_key(request: Request, caller: Admin, db: Session, keys: Keys) -> Response:
    """The admin API's key creation; the secret is on this answer only (never stored, never shown again)."""
    form = await form_of(request)
    fields = {
        "tenantId": form.get("tenant"),
        "scopes": form.getlist("scopes") or ["full"],
        "expiresAt": _expiry(str(form.get("expires") or "")),
    }
    body = validated(ApiKeyCreate, {k: v for k, v in fields.items() if v is not None})
    request.state.tenant_id = body.tenantId
    created = await keys.issue_key(db, body)
    request.state.object_id = created["apiKey"]["id"]
    return render(request, "key_created.html", 201, caller=caller, created=created)


@router.post("/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: str, request: Request, caller: Admin, db: Session, keys: Keys) -> Response:
    key = await keys.revoke(db, key_id)
    request.state.tenant_id = key["tenantId"]
    return redirect("/tenants", notice="key_revoked", tenant=key["tenantId"])


@router.post("/api-keys/{key_id}/scopes")
async def change_scopes(key_id: str, request: Request, caller: Admin, db: Session, keys: Keys) -> Response:
    form = await form_of(request)
    body = validated(ApiKeyUpdate, {"scopes": form.getlist("scopes")})
    key = await keys.change_scopes(db, key_id, body.scopes)
    request.state.tenant_id = key["tenantId"]
    return redirect("/tenants", notice="scopes_changed", tenant=key["tenantId"])


# --- customers and wallets ------------------------------------------------------------------------------


@router.get("/customers")
async def customers_page(
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    customers: Customers,
    settings: Config,
    page: Page,
    q: Annotated[str | None, Query(max_length=255)] = None,
    status: Literal["active", "inactive"] | None = None,
) -> Response:
    """Customers of the tenant; ``q`` finds one by its id, its email or its external id (exact matches)."""
    listed: CustomerList | None = None
    if tenancy.current is not None:
        view = tenant_view(tenancy.id, settings)
        query = (q or "").strip()
        if query.startswith("cst_"):
            try:
                found = [await customers.get(db, view, query)]
            except NotFound:  # a search that finds nothing is an empty list, not an error page
                found = []
            listed = {"data": found, "hasMore": False, "nextCursor": None, "previousCursor": None, "cursor": None}
        else:
            email = query.lower() if "@" in query else None
            external = query if query and not email else None
            listed = await customers.list(db, view, page, status=status, email=email, external_id=external)
    return render(request, "customers.html", caller=caller, tenancy=tenancy, customers=listed, q=q or "", status=status)


@router.get("/customers/{customer_id}")
async def customer_page(
    customer_id: str,
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    customers: Customers,
    transactions: Transactions,
    settings: Config,
    notice: Notice = None,
) -> Response:
    view = tenant_view(tenancy.id, settings)
    customer = await customers.get(db, view, customer_id)
    moves = await transactions.list_for_customer(
        db, view, customer_id, PageParams(10, None, None, None, None), status=None, type=None
    )
    return render(
        request,
        "customer.html",
        caller=caller,
        tenancy=tenancy,
        customer=customer,
        transactions=moves,
        notice=notice,
    )


@router.post("/customers/{customer_id}/status")
async def set_customer_status(
    customer_id: str, request: Request, caller: Admin, db: Session, customers: Customers
) -> Response:
    form = await form_of(request)
    body = validated(CustomerStatusUpdate, {"status": form.get("status")})
    tenant_id = await customers.set_status(db, customer_id, body.status)
    request.state.tenant_id = tenant_id
    return redirect(f"/customers/{customer_id}", notice="status_changed", tenant=tenant_id)


@router.get("/wallets")
async def wallets_page(
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    customers: Customers,
    settings: Config,
    page: Page,
) -> Response:
    """Every wallet of the tenant's customers (a page of customers at a time) with its balance and address."""
    listed = None
    if tenancy.current is not None:
        view = tenant_view(tenancy.id, settings)
        listed = await customers.list(db, view, page, status=None, email=None, external_id=None)
    return render(request, "wallets.html", caller=caller, tenancy=tenancy, customers=listed)


@router.get("/wallets/{wallet_id}")
async def wallet_page(
    wallet_id: str,
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    wallets: Wallets,
    transactions: Transactions,
    settings: Config,
) -> Response:
    view = tenant_view(tenancy.id, settings)
    balance = await wallets.balance(db, view, wallet_id, "USD")
    moves = await transactions.list(
        db,
        view,
        PageParams(PAGE, None, None, None, None),
        status=None,
        type=None,
        customer_id=None,
        wallet_id=wallet_id,
    )
    return render(
        request, "wallet.html", caller=caller, tenancy=tenancy, wallet_id=wallet_id, balance=balance, transactions=moves
    )


# --- transactions ---------------------------------------------------------------------------------------

TransactionStatus = Literal["processing", "completed", "failed", "cashPickupReady"]
MovementType = Literal["cryptoToCrypto", "fiatToCrypto", "cryptoToFiat"]


@router.get("/transactions")
async def transactions_page(
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    transactions: Transactions,
    settings: Config,
    page: Page,
    status: TransactionStatus | None = None,
    type: MovementType | None = None,
    customer: Id = None,
    wallet: Id = None,
) -> Response:
    listed = None
    if tenancy.current is not None:
        view = tenant_view(tenancy.id, settings)
        listed = await transactions.list(
            db, view, page, status=status, type=type, customer_id=customer or None, wallet_id=wallet or None
        )
    filters = {"status": status or "", "type": type or "", "customer": customer or "", "wallet": wallet or ""}
    return render(request, "transactions.html", caller=caller, tenancy=tenancy, transactions=listed, filters=filters)


@router.get("/transactions/{transaction_id}")
async def transaction_page(
    transaction_id: str,
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    transactions: Transactions,
    console: Console,
    settings: Config,
) -> Response:
    view = tenant_view(tenancy.id, settings)
    transaction = await transactions.get(db, view, transaction_id)
    steps = await console.timeline(db, tenancy.id, transaction_id)
    return render(request, "transaction.html", caller=caller, tenancy=tenancy, transaction=transaction, steps=steps)


# --- approvals and reviews ------------------------------------------------------------------------------


@router.get("/approvals")
async def approvals_page(
    request: Request,
    caller: Viewer,
    db: Session,
    reviews: ReviewService,
    deposits: Deposits,
    deposit_addresses: DepositAddresses,
    page: Page,
    status: ReviewStatus | None = "pending",
    kind: ReviewKind | None = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    notice: Notice = None,
) -> Response:
    """Every tenant's held transactions (or one tenant's), and the deposits and deposit-address transfers frozen by a
    screening hit."""
    queue = await reviews.list(db, page, status=status, kind=kind, tenant_id=tenant or None)
    frozen_page = PageParams(PAGE, None, None, None, None)
    frozen = await deposits.page(db, frozen_page, status="frozen", tenant_id=tenant or None)
    transfers = await deposit_addresses.screened_page(db, frozen_page, status="frozen", tenant_id=tenant or None)
    return render(
        request,
        "approvals.html",
        caller=caller,
        reviews=queue,
        deposits=frozen,
        transfers=transfers,
        status=status or "",
        kind=kind or "",
        tenant=tenant or "",
        notice=notice,
    )


async def _review_reason(request: Request) -> str | None:
    """A vote's reason, optional (the admin API's rule: ``ReviewDecision``)."""
    form = await form_of(request)
    reason = str(form.get("reason") or "").strip()
    return validated(ReviewDecision, {"reason": reason} if reason else {}).reason


@router.post("/reviews/{review_id}/approve")
async def approve_review(
    review_id: str, request: Request, caller: Approver, db: Session, reviews: ReviewService
) -> Response:
    reason = await _review_reason(request)
    tenant_id, _ = await reviews.vote(db, review_id, caller.operator_id, "approve", reason)
    return _decided(request, tenant_id, "approved")


@router.post("/reviews/{review_id}/reject")
async def reject_review(
    review_id: str, request: Request, caller: Approver, db: Session, reviews: ReviewService
) -> Response:
    reason = await _review_reason(request)
    tenant_id, _ = await reviews.vote(db, review_id, caller.operator_id, "reject", reason)
    return _decided(request, tenant_id, "rejected")


async def _reason_of(request: Request) -> str:
    """A frozen deposit's (or transfer's) decision's reason, required (the admin API's rule: ``Decision``)."""
    form = await form_of(request)
    return validated(Decision, {"reason": str(form.get("reason") or "").strip()}).reason


def _decided(request: Request, tenant_id: str, notice: str) -> Response:
    """Back to the approvals page, saying what was done (the audit record names the decision's tenant)."""
    request.state.tenant_id = tenant_id
    return redirect("/approvals", notice=notice)


@router.post("/deposits/{deposit_id}/release")
async def release_deposit(
    deposit_id: str, request: Request, caller: Approver, db: Session, deposits: Deposits
) -> Response:
    reason = await _reason_of(request)
    deposit = await deposits.decide(db, deposit_id, release=True, operator_id=caller.operator_id, reason=reason)
    return _decided(request, deposit.tenant_id, "released")


@router.post("/deposits/{deposit_id}/reject")
async def reject_deposit(
    deposit_id: str, request: Request, caller: Approver, db: Session, deposits: Deposits
) -> Response:
    reason = await _reason_of(request)
    deposit = await deposits.decide(db, deposit_id, release=False, operator_id=caller.operator_id, reason=reason)
    return _decided(request, deposit.tenant_id, "rejected")


@router.post("/deposit-address-transfers/{transfer_id}/release")
async def release_transfer(
    transfer_id: str, request: Request, caller: Approver, db: Session, deposit_addresses: DepositAddresses
) -> Response:
    reason = await _reason_of(request)
    decided = await deposit_addresses.decide(
        db, transfer_id, release=True, operator_id=caller.operator_id, reason=reason
    )
    return _decided(request, decided["tenantId"], "released")


@router.post("/deposit-address-transfers/{transfer_id}/reject")
async def reject_transfer(
    transfer_id: str, request: Request, caller: Approver, db: Session, deposit_addresses: DepositAddresses
) -> Response:
    reason = await _reason_of(request)
    decided = await deposit_addresses.decide(
        db, transfer_id, release=False, operator_id=caller.operator_id, reason=reason
    )
    return _decided(request, decided["tenantId"], "rejected")


# --- webhooks and events --------------------------------------------------------------------------------


@router.get("/webhooks")
async def webhooks_page(
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    webhooks: Webhooks,
    settings: Config,
    page: Page,
) -> Response:
    listed = None
    if tenancy.current is not None:
        listed = await webhooks.list(db, tenant_view(tenancy.id, settings), page)
    return render(request, "webhooks.html", caller=caller, tenancy=tenancy, webhooks=listed)


@router.get("/webhooks/{webhook_id}")
async def webhook_page(
    webhook_id: str,
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    webhooks: Webhooks,
    settings: Config,
    page: Page,
    status: Literal["pending", "delivered", "failed"] | None = None,
    notice: Notice = None,
) -> Response:
    view = tenant_view(tenancy.id, settings)
    webhook = await webhooks.get(db, view, webhook_id)
    deliveries = await webhooks.list_deliveries(db, view, webhook_id, page, status=status, event_id=None)
    return render(
        request,
        "webhook.html",
        caller=caller,
        tenancy=tenancy,
        webhook=webhook,
        deliveries=deliveries,
        status=status or "",
        notice=notice,
    )


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def retry_delivery(
    webhook_id: str,
    delivery_id: str,
    request: Request,
    caller: Admin,
    db: Session,
    webhooks: Webhooks,
    settings: Config,
) -> Response:
    """The tenant API's redelivery (``POST /v0.9/webhooks/{id}/deliveries/{id}/retry``), by an admin."""
    form = await form_of(request)
    tenant_id = str(form.get("tenant") or "")
    if not tenant_id:
        raise InvalidRequest("parameter_missing", "Missing required parameter: tenant.", param="tenant")
    await webhooks.retry_delivery(db, tenant_view(tenant_id, settings), webhook_id, delivery_id)
    request.state.tenant_id = tenant_id
    return redirect(f"/webhooks/{webhook_id}", notice="retried", tenant=tenant_id)


@router.get("/events")
async def events_page(
    request: Request,
    caller: Viewer,
    db: Session,
    tenancy: TenantOf,
    page: Page,
    type: Annotated[str | None, Query(max_length=80)] = None,
    object: Id = None,
) -> Response:
    """The tenant's events (``GET /v0.9/events``): their types and objects; their data is the tenant's."""
    listed = None
    if tenancy.current is not None:
        listed = await events.list_events(db, tenancy.id, page, type=type or None, object_id=object or None)
    return render(
        request, "events.html", caller=caller, tenancy=tenancy, events=listed, type=type or "", object=object or ""
    )


# --- the audit log and reconciliation -------------------------------------------------------------------


@router.get("/audit")
async def audit_page(
    request: Request,
    caller: Viewer,
    db: Session,
    page: Page,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    actor: Id = None,
    action: Id = None,
    object: Id = None,
    outcome: Outcome | None = None,
) -> Response:
    """The admin API's ``GET /admin/v1/audit-records`` with its filters (the actor by id: an operator, a key)."""
    filters = Filters(
        tenant_id=tenant or None,
        actor_kind=None,
        actor_id=actor or None,
        action=action or None,
        object_id=object or None,
        outcome=outcome,
        request_id=None,
    )
    records = await audit.query(db, filters, page)
    shown = {"tenant": tenant or "", "actor": actor or "", "action": action or "", "object": object or ""}
    return render(request, "audit.html", caller=caller, records=records, filters=shown, outcome=outcome or "")


@router.get("/reconciliation")
async def reconciliation_page(
    request: Request,
    caller: Viewer,
    reconciler: Reconciling,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    run: Literal["now"] | None = None,
) -> Response:
    """The last comparison of the ledger with the chain (the worker's, every minute), or a new one (``?run=now``:
    ``oms reconcile``'s comparison; it changes no balance, so it is a read any operator may ask for)."""
    scope = tenant or None
    last: ReconcileRun | None
    if run == "now":
        last = await reconciler.check(by="console", tenant_id=scope)
    else:
        last = await reconciler.last_run(tenant_id=scope)
    return render(request, "reconciliation.html", caller=caller, run=last, tenant=tenant or "")


@router.get("/{unknown:path}")
async def no_such_page(unknown: str, caller: Viewer) -> Response:
    """Any other console path: a 404 page (after the login, so that no path is told apart before it)."""
    if not unknown:  # /console/
        return redirect("")
    raise NotFound("unrecognized_request_url", "There is no such page in the console.")
