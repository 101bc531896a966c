"""What the import contracts (``lint-imports``, run by ``make test``) cannot see: a service writes no SQL. Its
statements are its package's repository's, named for what they read or change (docs/decisions.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

OMS = Path(__file__).resolve().parent.parent / "oms"
# The services, and the modules that do a service's work: the settlement and funding's part in it, the chain
# sender's job, the cash-in limits, the webhook dispatcher. The adapters at a port (the sandbox chain keeps
# its blocks) are not services.
SERVICES = [
    *sorted(OMS.glob("**/service.py")),
    OMS / "transaction" / "settlement.py",
    OMS / "funding" / "settlement.py",
    OMS / "funding" / "delivery.py",
    OMS / "chain" / "sender.py",
    OMS / "funding" / "cash_in" / "limits.py",
    OMS / "webhook" / "dispatch.py",
]
# What a statement is built with: SQLAlchemy's constructors and functions, the dialects' own inserts.
BUILDERS = {"select", "insert", "update", "delete", "text", "func", "bindparam", "and_", "or_", "postgresql", "sqlite"}


def _sqlalchemy_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {"sqlalchemy" for alias in node.names if alias.name.split(".")[0] == "sqlalchemy"}
    return names


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: str(path.relative_to(OMS)))
def test_a_service_builds_no_sql_statement(path: Path) -> None:
    built = _sqlalchemy_names(path) & (BUILDERS | {"sqlalchemy"})
    assert not built, f"{path.relative_to(OMS)} builds SQL with {sorted(built)}: move it to its repository"
