"""EU DSA Art. 16 notice adapter (notices to platforms)."""

from hotline_gateway.adapters.dsa.adapter import DsaNoticeAdapter

__all__ = ["DsaNoticeAdapter"]
