"""The ``native`` format: canonical case JSON, as exchanged between hotline-gateway instances."""

from hotline_gateway.adapters.native.adapter import NativeAdapter

__all__ = ["NativeAdapter"]
