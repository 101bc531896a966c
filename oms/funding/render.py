"""How an auto-created transaction shows where its money came from (``cashInId``, ``depositAddressId``,
a fiat source side ``{asset: "usd", network: "cash" | "ach" | "wire"}``, the rail and the rates)."""

from __future__ import annotations

from typing import Any

from oms.funding.fees import fees_deducted, rates, usd
from oms.kit.money import ASSETS, format_amount
from oms.models import TransactionFunding


def with_funding(resource: dict[str, Any], funding: TransactionFunding | None) -> dict[str, Any]:
    resource.setdefault("virtualAccountId", None)
    if funding is None:
        return resource
    resource["cashInId"] = funding.cash_in_id
    resource["depositAddressId"] = funding.deposit_address_id
    resource["virtualAccountId"] = funding.virtual_account_id
    resource["rail"] = funding.rail
    source: dict[str, Any]
    if funding.source_asset == "usd":
        net = funding.source_gross - funding.fee
        source = {
            "walletId": None,
            "asset": "usd",
            "network": funding.source_network,
            "amountGross": usd(funding.source_gross),
            "amountNet": usd(net),
            "feesDeducted": fees_deducted(funding.fee, ASSETS["usd"].decimals),
        }
        resource["rates"] = rates(net, funding.source_gross, resource["destination"]["asset"])
    else:
        decimals = ASSETS[funding.source_asset].decimals
        source = {
            "walletId": None,
            "asset": funding.source_asset,
            "network": funding.source_network,
            "amountGross": format_amount(funding.source_gross, decimals),
            "amountNet": format_amount(funding.source_gross - funding.fee, decimals),
            "feesDeducted": fees_deducted(funding.fee, decimals),
        }
    resource["source"] = {**source, **funding.details}
    return resource
