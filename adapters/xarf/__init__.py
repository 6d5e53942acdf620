"""X-ARF v4 adapter: notices to hosting providers' abuse desks."""

from adapters.xarf.adapter import XarfAdapter
from adapters.xarf.vocab import Contact

__all__ = ["Contact", "XarfAdapter"]
