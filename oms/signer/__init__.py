"""The signer: the one process that opens the custody seed and signs (``oms signer``), and how the others ask it.

``service`` holds its rules (which sends may be signed, the audit record of every signature); ``local`` runs them
in the caller's process (tests, ``OMS_SIGNER=in-process``); ``server`` serves them on a Unix socket checked by peer
credentials, ``client`` asks that socket, ``protocol`` is the wire format both speak; ``process`` is ``oms signer``
itself and ``spawn`` starts it as a child of a process that needs it. Why this shape: docs/decisions.md, "The
signer (issue 16, part 1)".
"""
