"""ICCAM-style adapter: the INHOPE network's report format."""

from hotline_gateway.adapters.iccam.adapter import IccamAdapter

__all__ = ["IccamAdapter"]
