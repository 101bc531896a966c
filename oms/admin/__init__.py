"""The admin API (``/admin/v1``): operators manage the server, apart from the OMS API and its tenants' keys."""
