"""The client is generated from the server's OpenAPI document (clients/python/codegen.py): regenerated here from
the running server's ``/v0.9/openapi.json``, it must equal the committed models and operations, so a change of
the server's API fails this test until the client is regenerated."""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import Server

from oms_client import OMS, AsyncOMS
from oms_client._operations import OPERATIONS

CLIENT = Path(__file__).resolve().parents[1]


def codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("oms_client_codegen", CLIENT / "codegen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
async def document(oms_server: Server) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{oms_server.url}/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


async def test_the_committed_client_is_what_the_servers_document_generates(
    oms_server: Server, document: dict[str, Any]
) -> None:
    generated = await asyncio.to_thread(codegen().generate, document)
    for name, text in generated.items():
        committed = (CLIENT / "oms_client" / name).read_text()
        assert committed == text, (
            f"oms_client/{name} differs from what the server's OpenAPI document generates: run `make client` "
            "and review the difference"
        )


def test_every_v09_operation_is_a_method_of_both_clients(document: dict[str, Any]) -> None:
    served = {
        (method.upper(), path.removeprefix("/v0.9"))
        for path, methods in document["paths"].items()
        if path.startswith("/v0.9/")
        for method in methods
    }
    assert {(op.method, op.path) for op in OPERATIONS.values()} == served
    for name in OPERATIONS:
        assert callable(getattr(OMS, name))
        assert inspect.iscoroutinefunction(getattr(AsyncOMS, name))
    paginated = {name for name, op in OPERATIONS.items() if op.item is not None}
    assert {"list_customers", "list_transactions", "list_events", "list_webhooks"} <= paginated
    for name in paginated:
        assert hasattr(OMS, "iter_" + name.removeprefix("list_")) and hasattr(
            AsyncOMS, "iter_" + name.removeprefix("list_")
        )


def test_a_change_of_the_servers_api_changes_what_is_generated(document: dict[str, Any]) -> None:
    module = codegen()
    changed = copy.deepcopy(document)
    changed["components"]["schemas"]["Customer"]["properties"]["nickname"] = {"type": "string"}
    changed["paths"]["/v0.9/customers"]["get"]["parameters"].append(
        {"name": "nickname", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    assert "nickname: str | None = None" in module.render_operations(changed)
    assert module.render_operations(changed) != module.render_operations(document)
