"""STIX 2.1 adapter: cases as bundles for threat-intelligence platforms (MISP, OpenCTI)."""

from adapters.stix.adapter import StixAdapter

__all__ = ["StixAdapter"]
