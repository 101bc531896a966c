"""Errors of the funding domain that the shared error tree does not name."""

from __future__ import annotations

from oms.errors import OMSError


class ServiceUnavailable(OMSError):
    """A dependency (the chain node) could not be reached: retry later. Not stored for replay."""

    status = 503
    type = "api_error"
    replayable = False
