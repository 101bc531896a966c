"""Tenants, API keys and the token exchange."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from oms.auth import repository
from oms.auth.tokens import InvalidToken, TokenSigner, bearer_token
from oms.config import Mode
from oms.errors import AuthenticationFailed
from oms.kit.crypto import constant_time_equals, generate_secret, hmac_sha256
from oms.kit.ids import new_id
from oms.kit.time import Clock
from oms.models import ApiKey, Tenant

SECRET_PREFIX = "sks_"


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Who is calling: every query below the endpoints is scoped by ``tenant_id``."""

    tenant_id: str
    key_id: str
    mode: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    secret: str
    tenant_id: str
    mode: str


class AuthService:
    def __init__(self, *, pepper: bytes, signer: TokenSigner, clock: Clock, mode: Mode) -> None:
        self._pepper = pepper
        self.signer = signer
        self._clock = clock
        self._mode = mode

    def hash_secret(self, secret: str) -> str:
        return hmac_sha256(self._pepper, secret)

    async def create_key(self, session: AsyncSession, *, tenant_name: str, mode: Mode) -> IssuedKey:
        """Create the tenant if it is new, then a key for it; the secret is returned once, never stored."""
        now = self._clock.now()
        tenant = await repository.get_tenant_by_name(session, tenant_name)
        if tenant is None:
            tenant = Tenant(id=new_id("ten"), name=tenant_name, created_at=now)
            session.add(tenant)
            await session.flush()
        secret = generate_secret(SECRET_PREFIX)
        key = ApiKey(
            id=new_id(f"sk_{mode.key_infix}"),
            tenant_id=tenant.id,
            mode=mode.value,
            secret_hash=self.hash_secret(secret),
            created_at=now,
        )
        session.add(key)
        await session.flush()
        return IssuedKey(key.id, secret, tenant.id, mode.value)

    async def exchange(self, session: AsyncSession, *, api_key: str, api_secret: str) -> tuple[str, datetime]:
        key = await repository.get_key(session, api_key)
        # One answer for unknown, wrong, revoked and other-mode keys: nothing to enumerate.
        if (
            key is None
            or key.revoked_at is not None
            or key.mode != self._mode.value
            or not constant_time_equals(key.secret_hash, self.hash_secret(api_secret))
        ):
            raise AuthenticationFailed("Invalid API key or secret.", code="invalid_api_key")
        return self.signer.issue(key_id=key.id, tenant_id=key.tenant_id, mode=key.mode)

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
        if not await repository.is_live(
            session, key_id=claims.key_id, tenant_id=claims.tenant_id, mode=self._mode.value
        ):
            raise AuthenticationFailed("Invalid or expired access token.", code="invalid_token")
        return AuthContext(claims.tenant_id, claims.key_id, claims.mode)
