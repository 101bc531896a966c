"""Rate limits and sign-in lockouts (issue 14): README, "Rate limits"; docs/decisions.md.

``middleware.RateLimits`` is one pure ASGI layer, outside the fast lane and the endpoints, so every answer of
the API passes it: each request counts against its family's limits for its API key and its client address,
in a store every API process shares (``counters``: `limits`' memory or Redis storages, or ``postgres``, a
`limits` storage on an UNLOGGED table). ``lockout.Lockout`` refuses sign-ins of a subject after repeated
failures, for a time that doubles with each lockout.
"""
