"""The composition root: every long-lived object of a process, built once from Settings."""

from __future__ import annotations

from dataclasses import dataclass

from oms.auth.service import AuthService
from oms.auth.tokens import TokenSigner
from oms.config import Settings
from oms.custody.service import Custody
from oms.customer.service import CustomerService
from oms.db import Database
from oms.kit.crypto import derive_key
from oms.kit.time import Clock, SystemClock
from oms.wallet.service import WalletService
from oms.webhook.dispatch import DeliveryWorker
from oms.webhook.service import WebhookService
from oms.webhook.wiring import build_webhooks


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    auth: AuthService
    custody: Custody
    customers: CustomerService
    wallets: WalletService
    webhooks: WebhookService
    webhook_delivery: DeliveryWorker

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> AppContext:
        clock = clock or SystemClock()
        root = settings.secret_key_bytes()
        signer = TokenSigner(derive_key(root, "jwt-hs256"), clock, settings.token_ttl_seconds)
        auth = AuthService(pepper=derive_key(root, "api-secret-pepper"), signer=signer, clock=clock, mode=settings.mode)
        custody = Custody(settings.custody_kek_bytes(), clock)
        customers = CustomerService(
            clock=clock,
            mode=settings.mode,
            pii_key=derive_key(root, "pii-aes-256-gcm"),
            review_delay=settings.sandbox_kyc_delay_seconds,
        )
        db = db or Database(settings)
        return cls(
            settings=settings,
            db=db,
            clock=clock,
            auth=auth,
            custody=custody,
            customers=customers,
            wallets=WalletService(custody=custody, customers=customers, clock=clock),
            **build_webhooks(settings, root=root, clock=clock, db=db),
        )

    async def start(self) -> None:
        """Work every process does once at start: make sure the custody seed exists and is ours."""
        async with self.db.session_scope() as session:
            await self.custody.ensure_seed(session)

    async def close(self) -> None:
        await self.webhook_delivery.close()
        await self.db.dispose()
