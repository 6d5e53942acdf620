"""X-ARF v4 adapter: abuse reports for hosting providers."""

from adapters.xarf.adapter import XarfAdapter

__all__ = ["XarfAdapter"]
