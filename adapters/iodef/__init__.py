"""RFC 7970 IODEF v2 adapter."""

from adapters.iodef.adapter import IodefAdapter

__all__ = ["IodefAdapter"]
