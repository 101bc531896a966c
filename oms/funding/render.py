"""How an auto-created transaction shows where its money came from (``cashInId``, ``depositAddressId``,
a fiat source side ``{asset: "usd", network: "cash" | "ach" | "wire"}``, the rail and the rates)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from oms.funding import repository
from oms.funding.fees import fees_deducted, rates, usd
from oms.kit.money import ASSETS, format_amount
from oms.models import Transaction, TransactionFunding
from oms.quote.schemas import SourceSide
from oms.transaction.schemas import Transaction as TransactionAnswer
from oms.transaction.schemas import TransactionSource


class FundingResources:
    """The transaction answers' funding fields (a ``ResourceExtension`` of ``oms/transaction/ports.py``, registered
    by the composition root): one read of the funding rows of all the transactions answered."""

    async def extend(
        self, session: AsyncSession, transactions: Sequence[Transaction], resources: Sequence[TransactionAnswer]
    ) -> None:
        fundings = await repository.by_transaction(session, [transaction.id for transaction in transactions])
        if fundings:
            for transaction, resource in zip(transactions, resources, strict=True):
                with_funding(resource, fundings.get(transaction.id))


def with_funding(resource: TransactionAnswer, funding: TransactionFunding | None) -> TransactionAnswer:
    """``resource`` (the transaction renderer's answer) with the funding that brought its money in, if any."""
    if funding is None:
        return resource
    resource["cashInId"] = funding.cash_in_id
    resource["depositAddressId"] = funding.deposit_address_id
    resource["virtualAccountId"] = funding.virtual_account_id
    resource["rail"] = funding.rail
    source: SourceSide
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
    # a provider's details (a rail's reference) follow the source side: its schema allows extra keys
    resource["source"] = cast(TransactionSource, {**source, **funding.details})
    return resource
