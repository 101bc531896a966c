"""The fast lane's read: ``GET /wallets/{id}/balance``, what clients poll.

One statement on the driver's own pool (``fastlane.repository.balances_for_key``: the regular endpoint's
balance read with the key's check and scopes joined in) and the regular endpoint's rendering
(``render_balance``). It answers only the well-formed, authorised, found case: anything else — an unexpected
query parameter, an unknown wallet, a key without the ``read`` scope — passes to the endpoint
(tests/fastlane/test_reads.py). Measured in BENCHMARKS.md: the framework and the ORM cost more per balance
read than the database.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import asyncpg
import orjson
from starlette.types import Scope

from oms import API_PREFIX
from oms.auth import scopes as key_scopes
from oms.db import HotPoolClosed
from oms.fastlane import repository
from oms.fastlane.asgi import Services, bearer_claims, header
from oms.kit.ids import is_valid_id
from oms.outage import unavailable
from oms.wallet.service import ESTIMATE_CURRENCIES, render_balance

_PREFIX = f"{API_PREFIX}/wallets/"
_SUFFIX = "/balance"
_CURRENCY_PARAM = "estimatedBalanceCurrencyCode"
BALANCE_ROUTE = f"{API_PREFIX}/wallets/{{wallet_id}}/balance"  # the endpoint's template (oms/wallet/endpoints.py)


class BalanceReads:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def answer(self, scope: Scope) -> bytes | None:
        """The balance's body; None to let the endpoint answer. Raises ``ServiceUnavailable`` in an outage."""
        path: str = scope["path"]
        if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
            return None
        wallet_id = path[len(_PREFIX) : -len(_SUFFIX)]
        currency = _currency(scope["query_string"])
        if currency is None or not is_valid_id(wallet_id, "wlt"):
            return None
        claims = bearer_claims(self._services.signer, header(scope, b"authorization"))
        if claims is None:
            return None
        try:
            async with self._services.db.hot_connection() as connection:
                found = await repository.balances_for_key(
                    connection,
                    key_id=claims.key_id,
                    tenant_id=claims.tenant_id,
                    mode=self._services.mode,
                    now=self._services.clock.now(),
                    wallet_id=wallet_id,
                )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, HotPoolClosed) as exc:
            outage = unavailable(exc)
            if outage is not None:
                raise outage from exc
            return None
        if found is None or not key_scopes.covers(key_scopes.granted_by(found[0]), key_scopes.Scope.READ):
            return None
        asset, chain, by_kind = found[1]
        return orjson.dumps(render_balance(wallet_id, asset, chain, by_kind, currency))


def _currency(query_string: bytes) -> str | None:
    """The estimate's currency when the query holds nothing but a supported one; else None."""
    if not query_string:
        return "USD"
    params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if len(params) != 1 or params[0][0] != _CURRENCY_PARAM or params[0][1].upper() not in ESTIMATE_CURRENCIES:
        return None
    return params[0][1]
