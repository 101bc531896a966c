"""Bearer tokens: library-signed JWTs (HS256 under a key derived from the server secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import jwt

from oms.kit.ids import new_id
from oms.kit.time import Clock

ISSUER = "oms"
_CACHE_SIZE = 10_000  # tokens remembered as verified, and as rejected
ALGORITHM = "HS256"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    key_id: str
    tenant_id: str
    mode: str
    expires_at: datetime


class InvalidToken(Exception):
    pass


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for any other header or none."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class TokenSigner:
    def __init__(self, key: bytes, clock: Clock, ttl_seconds: int) -> None:
        self._key = key
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        # Signature checks are the costly part of every request: a token string, once verified, stays
        # verified (it is immutable). Expiry is still checked on each use; revocation by the caller.
        self._verified: dict[str, TokenClaims] = {}
        # A token that failed its check fails it for ever (its signature or claims never change): every
        # request checks its token twice (the rate limits, then authentication), so it is decoded once.
        self._rejected: dict[str, str] = {}

    def issue(
        self, *, key_id: str, tenant_id: str, mode: str, not_after: datetime | None = None
    ) -> tuple[str, datetime]:
        """A token for the key, valid for the lifetime or until ``not_after`` (the key's expiry), if sooner."""
        issued = self._clock.now()
        expires = issued + timedelta(seconds=self.ttl_seconds)
        if not_after is not None and not_after < expires:
            # "exp" is whole seconds: the token ends at the last whole second before the key does.
            expires = datetime.fromtimestamp(int(not_after.timestamp()), tz=UTC)
        claims = {
            "iss": ISSUER,
            "sub": key_id,
            "tid": tenant_id,
            "mode": mode,
            "jti": new_id("tok"),
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM), expires

    def verify(self, token: str) -> TokenClaims:
        claims = self._verified.get(token)
        if claims is None:
            rejected = self._rejected.get(token)
            if rejected is not None:
                raise InvalidToken(rejected)
            try:
                claims = self._decode(token)
            except InvalidToken as error:
                _remember(self._rejected, token, str(error))
                raise
            _remember(self._verified, token, claims)
        if self._clock.now() >= claims.expires_at:
            raise InvalidToken("token expired")
        return claims

    def key_id_of(self, authorization: str) -> str | None:
        """The API key of an ``Authorization`` header's valid, unexpired bearer token (verified tokens are
        cached: no database query); None for anything else. What rate limits count a request against."""
        token = bearer_token(authorization)
        if token is None:
            return None
        try:
            return self.verify(token).key_id
        except InvalidToken:
            return None

    def _decode(self, token: str) -> TokenClaims:
        try:
            # Expiry is checked against the injected clock below, not the library's wall clock.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub", "tid", "mode", "iss"],
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        return TokenClaims(claims["sub"], claims["tid"], claims["mode"], expires)


def _remember(cache: dict[str, T], token: str, value: T) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))  # the oldest entry
    cache[token] = value
