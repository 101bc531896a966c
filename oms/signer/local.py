"""The signer in the caller's own process (``OMS_SIGNER=in-process``): the same rules and audit as ``oms signer``,
with the seed opened here. For tests, and for an install that chose not to run the signer apart."""

from __future__ import annotations

from oms.chain.port import SignedTransfer
from oms.signer.service import SendSigning


class InProcessSigner:
    def __init__(self, signing: SendSigning) -> None:
        self._signing = signing

    async def sign_send(self, send_id: str, *, attempt: int) -> SignedTransfer:
        return await self._signing.sign(send_id, attempt, peer="in-process")

    async def ready(self) -> None:
        return None

    async def close(self) -> None:
        return None
