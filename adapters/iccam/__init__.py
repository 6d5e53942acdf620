"""ICCAM-style adapter: the INHOPE network's report format."""

from adapters.iccam.adapter import IccamAdapter

__all__ = ["IccamAdapter"]
