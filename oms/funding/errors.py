"""How the funding domain answers a chain node that failed one of a request's calls."""

from __future__ import annotations

import logging

from oms.chain.port import ChainError
from oms.errors import ServiceUnavailable

log = logging.getLogger(__name__)


def chain_unavailable(network: str, exc: ChainError) -> ServiceUnavailable:
    """The 503 (``service_unavailable``, ``Retry-After``) for a node that did not answer, or answered an error,
    as every outage is answered; the node's own message is logged, never answered (it names the node's host)."""
    log.warning("chain node call failed; answering 503", extra={"network": network, "error": str(exc)[:200]})
    return ServiceUnavailable(f"The {network} node is unavailable; retry later.")
