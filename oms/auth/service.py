"""Tenants, API keys and the token exchange."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth import repository, schemas
from oms.auth.scopes import FULL, Scope, granted_by, parse, stored
from oms.auth.tokens import InvalidToken, TokenSigner, bearer_token
from oms.config import Mode
from oms.errors import AuthenticationFailed, Conflict, InvalidRequest, NotFound
from oms.kit.crypto import constant_time_equals, generate_secret, hmac_sha256
from oms.kit.ids import new_id
from oms.kit.pagination import PageParams, paginate
from oms.kit.time import Clock, isoformat
from oms.models import ApiKey, Tenant

SECRET_PREFIX = "sks_"


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Who is calling: every query below the endpoints is scoped by ``tenant_id``; ``scopes`` are what its key
    holds at this request (read with the key's check), checked by the route's ``needs``."""

    tenant_id: str
    key_id: str
    mode: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    secret: str
    tenant_id: str
    mode: str
    scopes: frozenset[str]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    tenant_id: str
    expires_at: datetime
    expires_in: int


def key_status(key: ApiKey, now: datetime) -> schemas.KeyStatus:
    """A key's state at ``now``, for people (the admin API, ``oms keys list``); ``live_key`` and
    ``keys_statement`` state the same rule in SQL."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


class AuthService:
    def __init__(self, *, pepper: bytes, signer: TokenSigner, clock: Clock, mode: Mode) -> None:
        self._pepper = pepper
        self.signer = signer
        self._clock = clock
        self._mode = mode

    def hash_secret(self, secret: str) -> str:
        return hmac_sha256(self._pepper, secret)

    async def create_key(
        self,
        session: AsyncSession,
        *,
        tenant_name: str,
        mode: Mode,
        scopes: Iterable[str] = FULL,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        """Create the tenant if it is new, then a key for it holding ``scopes`` (expanded: see oms/auth/scopes.py)
        until ``expires_at`` (never if None); the secret is returned once, never stored."""
        tenant = await repository.get_tenant_by_name(session, tenant_name)
        if tenant is None:
            tenant = Tenant(id=new_id("ten"), name=tenant_name, created_at=self._clock.now())
            session.add(tenant)
            await session.flush()
        return await self._issue(session, tenant.id, mode, scopes, expires_at)

    async def _issue(
        self, session: AsyncSession, tenant_id: str, mode: Mode, scopes: Iterable[str], expires_at: datetime | None
    ) -> IssuedKey:
        now = self._clock.now()
        column = self._scopes_column(scopes)
        if expires_at is not None and expires_at <= now:
            raise InvalidRequest("parameter_invalid", "The key's expiry must be in the future.", param="expiresAt")
        secret = generate_secret(SECRET_PREFIX)
        key = ApiKey(
            id=new_id(f"sk_{mode.key_infix}"),
            tenant_id=tenant_id,
            mode=mode.value,
            secret_hash=self.hash_secret(secret),
            created_at=now,
            revoked_at=None,
            scopes=column,
            expires_at=expires_at,
        )
        session.add(key)
        await session.flush()
        return IssuedKey(key.id, secret, tenant_id, mode.value, granted_by(column), expires_at)

    async def set_scopes(self, session: AsyncSession, key_id: str, scopes: Iterable[str]) -> bool:
        """Give a key exactly ``scopes`` (expanded), from its next request on; whether the key exists."""
        return await repository.set_scopes(session, key_id, self._scopes_column(scopes))

    @staticmethod
    def _scopes_column(scopes: Iterable[str]) -> str:
        try:
            return stored(scopes)
        except ValueError as exc:
            raise InvalidRequest("parameter_invalid", f"Invalid scopes: {exc}.", param="scopes") from exc

    async def exchange(self, session: AsyncSession, *, api_key: str, api_secret: str) -> IssuedToken:
        now = self._clock.now()
        key = await repository.live_key_by_id(session, key_id=api_key, mode=self._mode.value, now=now)
        # One answer for unknown, wrong, revoked, expired and other-mode keys: nothing to enumerate.
        if key is None or not constant_time_equals(key.secret_hash, self.hash_secret(api_secret)):
            raise AuthenticationFailed("Invalid API key or secret.", code="invalid_api_key")
        # A token outlives neither its lifetime nor its key: a client refreshes when told, not on a 401.
        token, expires_at = self.signer.issue(
            key_id=key.id, tenant_id=key.tenant_id, mode=key.mode, not_after=key.expires_at
        )
        return IssuedToken(token, key.tenant_id, expires_at, max(0, int((expires_at - now).total_seconds())))

    async def authenticate(self, session: AsyncSession, authorization: str | None) -> AuthContext:
        token = bearer_token(authorization)
        if token is None:
            raise AuthenticationFailed(
                "Missing bearer token: send 'Authorization: Bearer <accessToken>'.", code="missing_token"
            )
        try:
            claims = self.signer.verify(token)
        except InvalidToken as exc:
            raise AuthenticationFailed("Invalid or expired access token.", code="invalid_token") from exc
        scopes = await repository.scopes_of_live_key(
            session, key_id=claims.key_id, tenant_id=claims.tenant_id, mode=self._mode.value, now=self._clock.now()
        )
        if scopes is None:
            raise AuthenticationFailed("Invalid or expired access token.", code="invalid_token")
        return AuthContext(claims.tenant_id, claims.key_id, claims.mode, granted_by(scopes))

    # --- the admin API's (oms/admin/keys.py): tenants and keys of every tenant ---------------------------

    async def list_tenants(self, session: AsyncSession, page: PageParams) -> schemas.TenantList:
        result = await paginate(session, repository.tenants_statement(), Tenant, page, scope=repository.every_row())
        return result.listed([self.render_tenant(tenant) for tenant in result.items])

    async def tenant(self, session: AsyncSession, tenant_id: str) -> schemas.TenantResource:
        tenant = await repository.get_tenant(session, tenant_id)
        if tenant is None:
            raise NotFound.resource("tenant", tenant_id, param="tenant")
        return self.render_tenant(tenant)

    async def create_tenant(self, session: AsyncSession, name: str) -> schemas.TenantResource:
        if await repository.get_tenant_by_name(session, name) is not None:
            raise Conflict("tenant_exists", f"A tenant named {name!r} exists already.", param="name")
        tenant = Tenant(id=new_id("ten"), name=name, created_at=self._clock.now())
        session.add(tenant)
        await session.flush()
        return self.render_tenant(tenant)

    async def list_keys(
        self,
        session: AsyncSession,
        page: PageParams,
        *,
        tenant_id: str | None = None,
        mode: str | None = None,
        status: str | None = None,
    ) -> schemas.AdminApiKeyList:
        now = self._clock.now()
        statement = repository.keys_statement(tenant_id=tenant_id, mode=mode, status=status, now=now)
        result = await paginate(session, statement, ApiKey, page, scope=repository.every_row())
        return result.listed([self.render_key(key, now) for key in result.items])

    async def issue_key(self, session: AsyncSession, body: schemas.ApiKeyCreate) -> schemas.CreatedApiKey:
        """A new key of an existing tenant, with its secret (answered once)."""
        if await repository.get_tenant(session, body.tenantId) is None:
            raise NotFound.resource("tenant", body.tenantId, param="tenantId")
        mode = Mode(body.mode) if body.mode else self._mode
        issued = await self._issue(session, body.tenantId, mode, self._grants(body.scopes), body.expiresAt)
        return {"apiKey": await self.key(session, issued.key_id), "apiSecret": issued.secret}

    async def key(self, session: AsyncSession, key_id: str) -> schemas.AdminApiKey:
        key = await repository.get_key(session, key_id)
        if key is None:
            raise NotFound.resource("API key", key_id)
        return self.render_key(key, self._clock.now())

    async def change_scopes(self, session: AsyncSession, key_id: str, grants: Iterable[str]) -> schemas.AdminApiKey:
        if not await self.set_scopes(session, key_id, self._grants(grants)):
            raise NotFound.resource("API key", key_id)
        await session.flush()
        session.expire_all()  # the key's row was changed by a statement: read it again
        return await self.key(session, key_id)

    async def revoke(self, session: AsyncSession, key_id: str) -> schemas.AdminApiKey:
        """Revoke the key (its tokens stop at once); revoking a revoked key changes nothing."""
        await repository.revoke_key(session, key_id, self._clock.now())
        session.expire_all()
        return await self.key(session, key_id)

    @staticmethod
    def _grants(grants: Iterable[str]) -> frozenset[str]:
        """Scopes and presets (``full``, ``read_only``) as the scopes they give."""
        try:
            return parse(" ".join(grants))
        except ValueError as exc:
            raise InvalidRequest("parameter_invalid", f"Invalid scopes: {exc}.", param="scopes") from exc

    @staticmethod
    def render_tenant(tenant: Tenant) -> schemas.TenantResource:
        return {"id": tenant.id, "object": "tenant", "name": tenant.name, "createdAt": isoformat(tenant.created_at)}

    @staticmethod
    def render_key(key: ApiKey, now: datetime) -> schemas.AdminApiKey:
        """A key as an operator sees it: never its secret nor the secret's hash."""
        granted = granted_by(key.scopes)
        return {
            "id": key.id,
            "object": "apiKey",
            "tenantId": key.tenant_id,
            "mode": "live" if key.mode == "live" else "sandbox",
            "scopes": [scope.value for scope in Scope if scope in granted],
            "status": key_status(key, now),
            "createdAt": isoformat(key.created_at),
            "expiresAt": isoformat(key.expires_at),
            "revokedAt": isoformat(key.revoked_at),
        }
