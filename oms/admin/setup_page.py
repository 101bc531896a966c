"""``GET /admin/v1/setup``: the page a setup link opens (the token stays in the fragment, read by the page).

A static page, outside the admin document (it reads nothing and needs no role): it calls the documented
``POST /admin/v1/setup/totp`` and ``POST /admin/v1/setup``. Its one inline script is allowed by hash in a
strict Content-Security-Policy; it is never cached, framed, or sent as a referrer.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

from fastapi import APIRouter
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
_PAGE = resources.files("oms.admin").joinpath("static/setup.html").read_text()
_SCRIPT = re.search(r"<script>(.*?)</script>", _PAGE, re.DOTALL)
assert _SCRIPT is not None
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT[1].encode()).digest()).decode()
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@router.get("/setup")
async def setup_page() -> HTMLResponse:
    return HTMLResponse(_PAGE, headers=HEADERS)
