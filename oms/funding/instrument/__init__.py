"""What virtual accounts and deposit addresses share: one lifecycle, one service shape, one set of routes.

A funding instrument is a standing arrangement that turns what arrives at it (a bank transfer, a token
transfer) into stablecoin for one wallet. Each instrument supplies only what differs: its model, schemas,
what it provisions on create, and what its statuses mean for what arrives.
"""
