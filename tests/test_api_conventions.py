"""Cross-cutting conventions: the error envelope, Request-Id, body limits, OpenAPI and docs."""

from __future__ import annotations

import re

from tests.support import Api, assert_error


async def test_every_response_carries_a_request_id(api: Api) -> None:
    response = await api.get("/customers")
    assert response.headers["request-id"].startswith("req_")


async def test_unknown_url_is_404_in_the_envelope(client) -> None:
    assert_error(await client.get("/nowhere"), 404, "unrecognized_request_url")


async def test_wrong_method_is_405_in_the_envelope(api: Api) -> None:
    response = await api.client.delete("/customers", headers=api.headers())
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_malformed_json_is_400(api: Api) -> None:
    headers = api.headers({"Idempotency-Key": "bad-json", "Content-Type": "application/json"})
    response = await api.client.post("/customers", content=b"{nope", headers=headers)
    assert_error(response, 400, "invalid_json")


async def test_a_body_over_the_limit_is_413(api: Api, settings) -> None:
    big = {"metadata": {"k": "x" * (settings.max_body_bytes + 1)}}
    response = await api.post("/customers", big)
    assert_error(response, 413, "body_too_large")


async def test_unknown_query_parameter_is_400_naming_it(api: Api) -> None:
    assert_error(await api.get("/customers", limt=5), 400, "unknown_parameter", param="limt")


async def test_amount_like_strings_are_never_coerced_from_numbers(api: Api) -> None:
    assert_error(
        await api.post("/customers", {"signedAgreement": "yes"}), 400, "parameter_invalid", param="signedAgreement"
    )


async def test_openapi_document_and_docs_page_are_served(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "OMS API"
    assert "/v0.9/wallets/{wallet_id}/balance" in spec["paths"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_the_docs_page_needs_no_other_host(client) -> None:
    """Air-gapped servers: Swagger UI's assets come from the server itself (an installed package)."""
    page = (await client.get("/docs")).text
    assert "//" not in re.sub(r"<!--.*?-->", "", page, flags=re.DOTALL)  # no URL with a scheme or a host
    assets = dict(re.findall(r'(?:src|href)="(/v0\.9/docs/assets/[^"]+\.(js|css|png))"', page))
    assert sorted(assets.values()) == ["css", "js", "png"], page
    # Python's mimetypes names JavaScript either way, depending on the version and /etc/mime.types.
    expected = {"js": {"text/javascript", "application/javascript"}, "css": {"text/css"}, "png": {"image/png"}}
    for path, kind in assets.items():
        served = await client.get(path.removeprefix("/v0.9"))
        assert served.status_code == 200, path
        assert served.headers["content-type"].split(";")[0] in expected[kind], path
        assert len(served.content) > 1000, path
