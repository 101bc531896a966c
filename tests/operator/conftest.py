from tests.admin.conftest import admin_http, browser

__all__ = ["admin_http", "browser"]
