"""The service every funding instrument shares: list, get, update (the lifecycle and the common fields) and
delete. An instrument subclasses it with its model, its kind and endorsements, and supplies what differs:
``create`` (what it provisions), ``render``, the fields of its own a PATCH changes (``_apply``) and what
reactivating it does (``_reactivated``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth.service import AuthContext
from oms.chain.registry import Chains
from oms.clock.service import TenantClock
from oms.customer.service import CustomerService
from oms.funding import destination as destinations
from oms.funding.instrument import lifecycle, repository
from oms.funding.instrument.lifecycle import Kind, SettableStatus
from oms.kit.ids import new_id
from oms.kit.pagination import Listed, PageParams, paginate
from oms.kit.patch import merge_metadata
from oms.models import Customer, FundingInstrument
from oms.quote.schemas import WalletTarget


class DestinationRequest(Protocol):
    @property
    def asset(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def wallet(self) -> WalletTarget: ...


class InstrumentCreate(Protocol):
    """What every instrument's create body has."""

    @property
    def destination(self) -> DestinationRequest: ...
    @property
    def label(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, Any] | None: ...


class InstrumentUpdate(Protocol):
    """What every instrument's PATCH body has."""

    @property
    def status(self) -> SettableStatus | None: ...
    @property
    def label(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, Any] | None: ...
    def model_dump(self, *, exclude_unset: bool = ...) -> dict[str, Any]: ...


M = TypeVar("M", bound=FundingInstrument)
CreateT = TypeVar("CreateT", bound=InstrumentCreate)
UpdateT = TypeVar("UpdateT", bound=InstrumentUpdate)
R = TypeVar("R")  # the instrument's answer (a TypedDict of its schemas)


class InstrumentService(ABC, Generic[M, CreateT, UpdateT, R]):
    model: type[M]
    kind: Kind
    # The endorsements the customer needs to create the instrument and to reactivate it.
    required: tuple[str, ...]

    def __init__(self, *, customers: CustomerService, chains: Chains, tenant_clock: TenantClock) -> None:
        self._customers = customers
        self._chains = chains
        self._tenant_clock = tenant_clock

    # --- what each instrument supplies --------------------------------------------------------------------

    @abstractmethod
    async def create(self, session: AsyncSession, auth: AuthContext, customer_id: str, body: CreateT) -> R: ...

    @abstractmethod
    def render(self, instrument: M) -> R: ...

    def _apply(self, instrument: M, body: UpdateT, fields: dict[str, Any]) -> None:
        """A PATCH's fields besides status and metadata (``fields``: those the request set, even to null)."""
        if "label" in fields:
            instrument.label = body.label

    async def _reactivated(self, session: AsyncSession, instrument: M) -> None:
        """After a PATCH made the instrument active again (flushed)."""

    # --- the lifecycle --------------------------------------------------------------------------------------

    async def list(
        self, session: AsyncSession, auth: AuthContext, customer_id: str, page: PageParams, *, status: str | None
    ) -> Listed[R]:
        customer = await self._customers.get_model(session, auth, customer_id)
        statement = repository.list_statement(self.model, auth.tenant_id, customer.id, status=status)
        result = await paginate(session, statement, self.model, page, scope=self.model.customer_id == customer.id)
        return result.listed([self.render(instrument) for instrument in result.items])

    async def get(self, session: AsyncSession, auth: AuthContext, instrument_id: str) -> R:
        return self.render(await self._get(session, auth, instrument_id))

    async def update(self, session: AsyncSession, auth: AuthContext, instrument_id: str, body: UpdateT) -> R:
        instrument = await self._get(session, auth, instrument_id, for_update=True)
        reactivated = lifecycle.patch(self.kind, instrument, body.status)
        if reactivated:  # the endorsements may have lapsed while it was paused
            await self._customers.require_endorsements(session, auth, instrument.customer_id, self.required)
        if body.status is not None:
            instrument.status = body.status
        self._apply(instrument, body, body.model_dump(exclude_unset=True))
        if body.metadata is not None:
            instrument.metadata_ = merge_metadata(instrument.metadata_, body.metadata)
        instrument.updated_at = await self._tenant_clock.now(session, auth.tenant_id)
        await session.flush()
        if reactivated:
            await self._reactivated(session, instrument)
        return self.render(instrument)

    async def delete(self, session: AsyncSession, auth: AuthContext, instrument_id: str) -> R:
        instrument = await self._get(session, auth, instrument_id, for_update=True)
        if lifecycle.delete(instrument, await self._tenant_clock.now(session, auth.tenant_id)):
            await session.flush()
        return self.render(instrument)

    # --- for the instruments ---------------------------------------------------------------------------------

    async def _get(
        self, session: AsyncSession, auth: AuthContext, instrument_id: str, *, for_update: bool = False
    ) -> M:
        found = await repository.get(
            session, self.model, self.kind.prefix, auth.tenant_id, instrument_id, for_update=for_update
        )
        if found is None:
            raise self.kind.missing(instrument_id)
        return found

    async def _destination(
        self, session: AsyncSession, auth: AuthContext, customer: Customer, body: CreateT
    ) -> destinations.Destination:
        return await destinations.resolve(
            session,
            self._chains,
            tenant_id=auth.tenant_id,
            customer_id=customer.id,
            asset=body.destination.asset,
            network=body.destination.network,
            target=body.destination.wallet,
        )

    def _columns(
        self, auth: AuthContext, customer: Customer, target: destinations.Destination, body: CreateT, now: datetime
    ) -> dict[str, Any]:
        """The columns every new instrument has (``FundingInstrument``): active, funding ``target``."""
        return {
            "id": new_id(self.kind.prefix),
            "tenant_id": auth.tenant_id,
            "customer_id": customer.id,
            "status": "active",
            "asset": target.asset,
            "chain": target.chain,
            "destination_wallet_id": target.wallet_id,
            "destination_address": target.address,
            "label": body.label,
            "metadata_": body.metadata or {},
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
