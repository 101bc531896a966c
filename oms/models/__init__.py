"""SQLAlchemy models, one file per aggregate. Importing this package registers every table."""

from oms.models.audit import AuditChainHead, AuditRecord
from oms.models.base import MAX_REVIEW_NOTE, Base
from oms.models.chain import (
    ChainCursor,
    ChainDeposit,
    ChainNonce,
    ChainSend,
    ChainSendAttempt,
    DepositStatus,
    SandboxBlock,
    SandboxTransaction,
)
from oms.models.clock import TenantClock
from oms.models.controls import Policy, PolicyVersion, ReviewVote, TransactionPolicy, TransactionReview
from oms.models.custody import CustodyKey, CustodyRetiredKey, CustodySeed
from oms.models.customer import Customer, Endorsement
from oms.models.event import Event
from oms.models.funding import (
    AccountholderName,
    CashIn,
    DepositAddress,
    DepositAddressCursor,
    DepositAddressDeposit,
    DepositAddressDepositStatus,
    DepositAddressTransferStatus,
    FundingInstrument,
    InstrumentStatus,
    TransactionFunding,
    VirtualAccount,
)
from oms.models.idempotency import IdempotencyRecord
from oms.models.ledger import LedgerAccount, LedgerEntry, LedgerPosting
from oms.models.operator import Operator, OperatorSession, OperatorToken
from oms.models.quote import Quote
from oms.models.ratelimit import LockoutRecord, RateLimitCounter
from oms.models.reconcile import ReconcileRecord
from oms.models.screening import ScreeningAddress, ScreeningList
from oms.models.tenant import ApiKey, Tenant
from oms.models.transaction import Transaction
from oms.models.wallet import Wallet
from oms.models.webhook import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "MAX_REVIEW_NOTE",
    "AccountholderName",
    "ApiKey",
    "AuditChainHead",
    "AuditRecord",
    "Base",
    "CashIn",
    "ChainCursor",
    "ChainDeposit",
    "ChainNonce",
    "ChainSend",
    "ChainSendAttempt",
    "CustodyKey",
    "CustodyRetiredKey",
    "CustodySeed",
    "Customer",
    "DepositAddress",
    "DepositAddressCursor",
    "DepositAddressDeposit",
    "DepositAddressDepositStatus",
    "DepositAddressTransferStatus",
    "DepositStatus",
    "Endorsement",
    "Event",
    "FundingInstrument",
    "IdempotencyRecord",
    "InstrumentStatus",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerPosting",
    "LockoutRecord",
    "Operator",
    "OperatorSession",
    "OperatorToken",
    "Policy",
    "PolicyVersion",
    "Quote",
    "RateLimitCounter",
    "ReconcileRecord",
    "ReviewVote",
    "SandboxBlock",
    "SandboxTransaction",
    "ScreeningAddress",
    "ScreeningList",
    "Tenant",
    "TenantClock",
    "Transaction",
    "TransactionFunding",
    "TransactionPolicy",
    "TransactionReview",
    "VirtualAccount",
    "Wallet",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
