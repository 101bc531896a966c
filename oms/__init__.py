"""oms: a self-hostable server for the OMS custodial-wallet and stablecoin payments API."""

API_PREFIX = "/v0.9"
