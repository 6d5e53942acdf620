"""RFC 7970 IODEF v2 adapter."""

from hotline_gateway.adapters.iodef.adapter import IodefAdapter

__all__ = ["IodefAdapter"]
