"""Sanctions screening: a port (``port.Screener``), the built-in list as its default adapter, and the importer of
the OFAC SDN list's published files."""
