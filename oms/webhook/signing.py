"""Webhook secrets and Standard Webhooks signatures.

A secret is ``whsec_`` + 64 hex characters (32 random bytes), the format the OMS reference documents.
Signatures are made by the official ``standardwebhooks`` library from that string, so its verifier
accepts the secret exactly as returned. That library reads the part after ``whsec_`` as base64: the
HMAC-SHA256 key is therefore the 48 bytes that base64-decoding the 64 hex characters yields (not the
32 hex-decoded bytes spec 3.3 suggested; the two cannot both hold — see docs/decisions.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_bytes(SECRET_BYTES).hex()


def sign(secrets_in_use: Sequence[str], msg_id: str, timestamp: datetime, payload: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret in use, space-separated."""
    return " ".join(StandardWebhook(secret).sign(msg_id, timestamp, payload) for secret in secrets_in_use)


def headers(secrets_in_use: Sequence[str], msg_id: str, timestamp: datetime, payload: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "OMS-Webhooks/0.9",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": sign(secrets_in_use, msg_id, timestamp, payload),
    }
