"""X-ARF v4 adapter: notices to hosting providers' abuse desks."""

from hotline_gateway.adapters.xarf.adapter import XarfAdapter
from hotline_gateway.adapters.xarf.vocab import Contact

__all__ = ["Contact", "XarfAdapter"]
