"""The composition root: every long-lived object of a process, built once from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from oms.audit.service import AuditLog
from oms.auth.service import AuthService
from oms.auth.tokens import TokenSigner
from oms.chain.port import SendSigner
from oms.chain.registry import Chains, build_chains
from oms.chain.sender import ChainSender
from oms.clock.service import TenantClock
from oms.config import Settings
from oms.console.service import ConsoleService
from oms.controls.decision import Controls
from oms.controls.service import Reviews
from oms.custody.service import Custody, CustodyError
from oms.custody.wiring import build_custody
from oms.customer.service import CustomerService
from oms.db import Database
from oms.deposit.service import DepositScanner, FrozenDeposits
from oms.funding.cash_in.service import CashInService
from oms.funding.cash_location.service import CashLocationService
from oms.funding.deposit_address.service import DepositAddressService
from oms.funding.render import FundingResources
from oms.funding.virtual_account.service import VirtualAccountService
from oms.funding.wiring import Funding, build_funding
from oms.idempotency import Terms
from oms.kit.address import ClientAddress
from oms.kit.crypto import derive_key
from oms.kit.money import ASSETS, parse_amount
from oms.kit.time import Clock, SystemClock
from oms.metrics.access import MetricsAccess
from oms.metrics.service import Scrape
from oms.metrics.wiring import Metrics, build_metrics
from oms.operator.service import OperatorService
from oms.policy.service import PolicyEngine, PolicyService
from oms.quote.pricing import FeeSchedule
from oms.quote.service import QuoteService
from oms.ratelimit.lockout import Lockout
from oms.ratelimit.wiring import RateLimiting, build_rate_limiting
from oms.reconcile.service import Reconciler
from oms.routing import Provided
from oms.screening.check import ScreeningCheck
from oms.screening.port import NoScreening, Screener
from oms.screening.service import BuiltInList
from oms.signer.client import client_for
from oms.signer.local import InProcessSigner
from oms.signer.service import SendSigning
from oms.tracing import Tracing, build_tracing
from oms.transaction.held import HeldTransfers
from oms.transaction.service import TransactionService
from oms.transaction.settlement import Settlement, TransferSettlement
from oms.wallet.service import WalletService
from oms.webhook.dispatch import DeliveryWorker
from oms.webhook.service import WebhookService
from oms.webhook.wiring import build_webhooks

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    auth: AuthService
    custody: Custody
    signer: SendSigner  # every chain send's signature: `oms signer` over its socket, or this process (oms/signer)
    idempotency: Terms  # every claim's clock, answer lifetime and sealing key: the endpoints' and the fast lane's
    customers: CustomerService
    wallets: WalletService
    webhooks: WebhookService
    webhook_delivery: DeliveryWorker
    chains: Chains
    quotes: QuoteService
    transactions: TransactionService
    sender: ChainSender
    deposits: DepositScanner
    frozen_deposits: FrozenDeposits
    screener: Screener
    reconciler: Reconciler
    tenant_clock: TenantClock
    funding: Funding
    settlement: Settlement
    operators: OperatorService
    audit: AuditLog
    rate_limiting: RateLimiting  # the limits of every request and the lockout of sign-ins (oms/ratelimit)
    metrics: Metrics  # GET /metrics: who may read it, the scrape of queues and chains (oms/metrics)
    tracing: Tracing  # spans of requests, statements and jobs when OMS_OPENTELEMETRY is on (oms/tracing.py)
    controls: Controls  # the checks before money leaves (oms/controls): quotes and executions ask them
    reviews: Reviews  # held transactions and the operators' decisions on them
    policies: PolicyService  # the tenants' policies, managed (oms/policy); evaluated by the PolicyEngine control
    console: ConsoleService  # what the operator console shows beyond the services (oms/console)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        db: Database | None = None,
        span_exporter: SpanExporter | None = None,
    ) -> AppContext:
        clock = clock or SystemClock(timedelta(seconds=settings.sandbox_clock_offset_seconds))
        root = settings.secret_key_bytes()
        signer = TokenSigner(derive_key(root, "jwt-hs256"), clock, settings.token_ttl_seconds)
        auth = AuthService(pepper=derive_key(root, "api-secret-pepper"), signer=signer, clock=clock, mode=settings.mode)
        # With a signer process, this one never reads the key-encryption key nor reaches the token: addresses come
        # from the public key. In process, the seed's wrapper is the configured key or a PKCS#11 token.
        in_process = settings.signer == "in-process"
        custody = build_custody(settings, clock) if in_process else Custody(None, clock)
        db = db or Database(settings)
        tracing = build_tracing(settings, exporter=span_exporter)
        tracing.instrument(db)
        customers = CustomerService(
            clock=clock,
            mode=settings.mode,
            pii_key=derive_key(root, "pii-aes-256-gcm"),
            review_delay=settings.sandbox_kyc_delay_seconds,
        )
        chains = build_chains(settings, db=db, custody=custody, clock=clock)
        # The fixed fee is configured in major units; every supported crypto asset has the same decimals, and
        # a fee more precise than they are is refused at start rather than truncated.
        fixed_fee = parse_amount(format(settings.fee_crypto_to_crypto_fixed, "f"), ASSETS["usdc"].decimals,
                                 allow_zero=True)  # fmt: skip
        schedule = FeeSchedule(settings.fee_crypto_to_crypto_rate, fixed_fee)
        tenant_clock = TenantClock(clock, mode=settings.mode)
        # The checks (the policy engine, then screening) are added to it in that order.
        controls = Controls()
        controls.add(
            PolicyEngine(), gated=True
        )  # gated: an active policy is what controls.repository.checks_apply sees
        # The screening port: the built-in list (oms screening import) unless switched off; as a control, it holds
        # a transfer to a listed external destination for review.
        screener: Screener = BuiltInList() if settings.screening == "builtin" else NoScreening()
        if settings.screening != "off":
            controls.add(ScreeningCheck(screener), external=True)
        quotes = QuoteService(
            customers=customers,
            clock=clock,
            lock_seconds=settings.quote_lock_seconds,
            schedule=schedule,
            tenant_clock=tenant_clock,
            controls=controls,
        )
        transactions = TransactionService(
            customers=customers, quotes=quotes, clock=clock, controls=controls, extensions=[FundingResources()]
        )
        funding = build_funding(
            settings,
            db=db,
            clock=clock,
            tenant_clock=tenant_clock,
            custody=custody,
            chains=chains,
            customers=customers,
            transactions=transactions,
            crypto_fees=schedule,
            screener=screener,
        )
        # One settlement for every chain send; each kind of send is a purpose supplying only its entries and hooks.
        settlement = Settlement(
            transactions=transactions,
            purposes=[TransferSettlement(clock=clock), funding.settlement],
            custody=custody,
            tenant_clock=tenant_clock,
            clock=clock,
        )
        rate_limiting = build_rate_limiting(settings, db=db, clock=clock, root=root)
        audit_log = AuditLog(clock)
        send_signer: SendSigner
        if in_process:
            signing = SendSigning(
                db=db, chains=chains, custody=custody, clock=clock, audit_log=audit_log, identity="in-process"
            )
            send_signer = InProcessSigner(signing)
        else:
            send_signer = client_for(settings)  # its Unix socket, or mutual TLS to another host
        reviews = Reviews(
            held=HeldTransfers(transactions=transactions, settlement=settlement, clock=clock),
            tenant_clock=tenant_clock,
            clock=clock,
            audit_log=audit_log,
        )
        reconciler = Reconciler(db=db, chains=chains, custody=custody, clock=clock)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            auth=auth,
            custody=custody,
            signer=send_signer,
            idempotency=Terms(
                clock,
                timedelta(seconds=settings.idempotency_ttl_seconds),
                derive_key(root, "idempotency-responses-aes-256-gcm"),
            ),
            customers=customers,
            wallets=WalletService(custody=custody, customers=customers, clock=clock, chains=chains),
            **build_webhooks(settings, root=root, clock=clock, db=db),
            chains=chains,
            quotes=quotes,
            transactions=transactions,
            sender=ChainSender(db=db, chains=chains, clock=clock, signer=send_signer),
            deposits=DepositScanner(db=db, chains=chains, clock=clock, screener=screener),
            frozen_deposits=FrozenDeposits(clock=clock),
            screener=screener,
            reconciler=reconciler,
            tenant_clock=tenant_clock,
            funding=funding,
            settlement=settlement,
            operators=OperatorService(
                clock=clock,
                mode=settings.mode,
                pepper=derive_key(root, "operator-secret-pepper"),
                totp_key=derive_key(root, "operator-totp-aes-256-gcm"),
                base_url=settings.admin_base_url,
                setup_seconds=settings.admin_setup_link_seconds,
                idle_seconds=settings.admin_session_idle_seconds,
                absolute_seconds=settings.admin_session_absolute_seconds,
                guard=rate_limiting.lockout,  # operator login's lockout, per email and address
            ),
            audit=audit_log,
            rate_limiting=rate_limiting,
            metrics=build_metrics(settings, db=db, chains=chains, clock=clock, addresses=rate_limiting.addresses),
            tracing=tracing,
            controls=controls,
            reviews=reviews,
            policies=PolicyService(clock=clock),
            console=ConsoleService(clock=clock, chains=chains),
        )

    def provided(self) -> Provided:
        """What routes may ask for (``routing.provided``), each under its class: the pipeline's database and
        idempotency terms, the settings and chains the readiness check reads, and the services endpoints call."""
        provided = Provided()
        provided.add(Settings, self.settings)
        provided.add(Database, self.db)
        provided.add(Terms, self.idempotency)
        provided.add(AuditLog, self.audit)
        provided.add(Chains, self.chains)
        provided.add(AuthService, self.auth)
        provided.add(CustomerService, self.customers)
        provided.add(WalletService, self.wallets)
        provided.add(WebhookService, self.webhooks)
        provided.add(QuoteService, self.quotes)
        provided.add(TransactionService, self.transactions)
        provided.add(TenantClock, self.tenant_clock)
        provided.add(CashLocationService, self.funding.locations)
        provided.add(CashInService, self.funding.cash_ins)
        provided.add(VirtualAccountService, self.funding.virtual_accounts)
        provided.add(DepositAddressService, self.funding.deposit_addresses)
        provided.add(OperatorService, self.operators)
        provided.add(Reviews, self.reviews)
        provided.add(PolicyService, self.policies)
        provided.add(FrozenDeposits, self.frozen_deposits)
        provided.add(Lockout, self.rate_limiting.lockout)
        provided.add(ClientAddress, self.rate_limiting.addresses)
        provided.add(MetricsAccess, self.metrics.access)
        provided.add(Scrape, self.metrics.scrape)
        provided.add(ConsoleService, self.console)
        provided.add(Reconciler, self.reconciler)
        return provided

    async def start(self) -> None:
        """Work every process does once at start: make sure the custody seed exists and is ours (with a signer
        process, which creates it on its first start: read it, waiting for the signer if there is none yet)."""
        try:
            async with self.db.session_scope() as session:
                await self.custody.ensure_seed(session)
        except CustodyError:
            if self.settings.signer == "in-process":
                raise
            await self.signer.ready()
            async with self.db.session_scope() as session:
                await self.custody.ensure_seed(session)
        await self.db.start()
        await self.chains.start()
        await self.funding.start(self.db)

    async def close(self) -> None:
        await self.signer.close()
        await self.chains.close()
        await self.webhook_delivery.close()
        await self.rate_limiting.counters.close()
        await self.db.dispose()
        self.tracing.close()
