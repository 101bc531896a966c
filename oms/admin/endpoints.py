"""The admin API's router: every admin module's routes under ``/admin/v1``.

Each module (``oms/admin/<thing>.py``) has a ``router`` of ``OMSRoute`` routes whose handlers declare a role
(``Viewer``, ``Approver``, ``Admin`` from ``oms.admin.dependencies``) or are one of the public ways in
(log-in, set-up). Adding a module is adding it to ``MODULES``; the admin OpenAPI document, and the
authorisation test read from it, then cover its routes.
"""

from __future__ import annotations

from fastapi import APIRouter

from oms.admin import (
    audit,
    customers,
    deposit_address_transfers,
    deposits,
    keys,
    login,
    operators,
    policies,
    reviews,
    setup_page,
    tokens,
    webhooks,
)

PREFIX = "/admin/v1"
MODULES = (
    login, operators, tokens, keys, customers, webhooks, deposits, deposit_address_transfers, audit, policies, reviews,
    setup_page,
)  # fmt: skip

router = APIRouter(prefix=PREFIX)
for module in MODULES:
    router.include_router(module.router)
