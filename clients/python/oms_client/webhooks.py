"""Webhook deliveries: signatures checked by the ``standardwebhooks`` library, payloads parsed into events.

OMS signs every delivery as Standard Webhooks prescribes (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``; HMAC-SHA256 with the subscription's ``whsec_`` secret, five minutes' tolerance).
Deliveries are not ordered: compare events' ``sequence``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import standardwebhooks

from oms_client.models import Event


class WebhookVerificationError(ValueError):
    """The delivery is not signed by this secret, is malformed, or its timestamp is outside the tolerance."""


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> Event:
    """The event of a delivery whose signature is ``secret``'s; raises :class:`WebhookVerificationError`
    otherwise. ``body`` must be the raw bytes received, before any JSON parsing."""
    try:
        standardwebhooks.Webhook(secret).verify(body, dict(headers.items()), json_parse=False)
    except (standardwebhooks.WebhookVerificationError, ValueError) as error:
        raise WebhookVerificationError(str(error) or "invalid signature") from None
    return parse_event(body)


def parse_event(body: bytes | str) -> Event:
    """An event's typed model (``id``, ``type``, ``sequence``, ``data.object``), without checking a signature."""
    return Event.model_validate(json.loads(body))
