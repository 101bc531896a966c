"""Fixtures for the chain adapters. ``anvil_chain``: a real local EVM node (see ``tests/chain/anvil.py``)."""

from __future__ import annotations

from tests.chain.anvil import anvil_chain

__all__ = ["anvil_chain"]
