"""POST /auth/token and bearer authentication."""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt
from sqlalchemy import update

from oms.auth import repository
from oms.config import Mode
from oms.models import ApiKey
from tests.support import Api, OffsetClock, assert_error, create_key, exchange


async def test_exchange_returns_a_bearer_token_valid_for_an_hour(client, ctx) -> None:
    issued = await create_key(ctx)
    response = await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"accessToken", "tokenType", "expiresIn", "expiresAt"}
    assert body["tokenType"] == "bearer" and body["expiresIn"] == 3600
    expires_at = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert claims["exp"] == int(expires_at.timestamp())
    assert issued.key_id.startswith("sk_sdbx_")


async def test_wrong_secret_is_401(client, ctx) -> None:
    issued = await create_key(ctx)
    response = await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret + "x"})
    assert_error(response, 401, "invalid_api_key")


async def test_unknown_key_is_401(client) -> None:
    response = await client.post("/auth/token", json={"apiKey": "sk_sdbx_nope", "apiSecret": "sks_nope"})
    assert_error(response, 401, "invalid_api_key")


async def test_live_key_on_a_sandbox_server_is_401(client, ctx) -> None:
    issued = await create_key(ctx, mode=Mode.live)
    assert issued.key_id.startswith("sk_live_")
    response = await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
    assert_error(response, 401, "invalid_api_key")


async def test_revoked_key_cannot_exchange(client, ctx) -> None:
    issued = await create_key(ctx)
    async with ctx.db.session_scope() as session:
        assert await repository.revoke_key(session, issued.key_id, ctx.clock.now())
    response = await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
    assert_error(response, 401, "invalid_api_key")


async def test_revoking_a_key_stops_its_tokens_at_once(api: Api, ctx) -> None:
    assert (await api.get("/customers")).status_code == 200
    async with ctx.db.session_scope() as session:
        await repository.revoke_key(session, api.issued.key_id, ctx.clock.now())
    assert_error(await api.get("/customers"), 401, "invalid_token")


async def test_token_expires_after_an_hour(client, ctx, clock: OffsetClock) -> None:
    issued = await create_key(ctx)
    token = await exchange(client, issued)
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(seconds=3599)
    assert (await client.get("/customers", headers=headers)).status_code == 200
    clock.advance(seconds=1)
    assert_error(await client.get("/customers", headers=headers), 401, "invalid_token")


async def test_forged_token_is_401(client, ctx) -> None:
    issued = await create_key(ctx)
    forged = jwt.encode(
        {"iss": "oms", "sub": issued.key_id, "tid": issued.tenant_id, "mode": "sandbox", "exp": 4102444800},
        "not-the-server-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    response = await client.get("/customers", headers={"Authorization": f"Bearer {forged}"})
    assert_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_with_unsigned_algorithm_is_401(client, ctx) -> None:
    issued = await create_key(ctx)
    unsigned = jwt.encode(
        {"iss": "oms", "sub": issued.key_id, "tid": issued.tenant_id, "mode": "sandbox", "exp": 4102444800},
        None,
        algorithm="none",
    )
    assert_error(await client.get("/customers", headers={"Authorization": f"Bearer {unsigned}"}), 401, "invalid_token")


async def test_missing_bearer_token_is_401(client) -> None:
    assert_error(await client.get("/customers"), 401, "missing_token")


async def test_token_request_without_secret_is_400_naming_it(client) -> None:
    response = await client.post("/auth/token", json={"apiKey": "sk_sdbx_x"})
    assert_error(response, 400, "parameter_missing", param="apiSecret")


async def test_an_expired_key_cannot_exchange(client, ctx, clock: OffsetClock) -> None:
    issued = await create_key(ctx, expires_at=clock.now() + timedelta(seconds=30))
    clock.advance(seconds=30)
    response = await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})
    assert_error(response, 401, "invalid_api_key")
    assert response.json()["error"]["message"] == "Invalid API key or secret."  # as for any invalid key


async def test_a_token_ends_with_its_key(client, ctx, clock: OffsetClock) -> None:
    issued = await create_key(ctx, expires_at=clock.now() + timedelta(minutes=10))
    body = (await client.post("/auth/token", json={"apiKey": issued.key_id, "apiSecret": issued.secret})).json()
    assert 540 <= body["expiresIn"] <= 600  # not the hour of a token: the key's ten minutes
    headers = {"Authorization": f"Bearer {body['accessToken']}"}
    assert (await client.get("/customers", headers=headers)).status_code == 200
    clock.advance(minutes=10)
    assert_error(await client.get("/customers", headers=headers), 401, "invalid_token")


async def test_a_keys_expiry_stops_its_tokens_even_within_their_lifetime(ctx, client, clock: OffsetClock) -> None:
    issued = await create_key(ctx, expires_at=clock.now() + timedelta(minutes=10))
    token = await exchange(client, issued)
    headers = {"Authorization": f"Bearer {token}"}
    async with ctx.db.session_scope() as session:  # the key's expiry is read at each request, not from the token
        await session.execute(update(ApiKey).where(ApiKey.id == issued.key_id).values(expires_at=clock.now()))
    assert_error(await client.get("/customers", headers=headers), 401, "invalid_token")
