from __future__ import annotations

from tests.admin.conftest import admin_http

__all__ = ["admin_http"]
