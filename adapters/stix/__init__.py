"""STIX 2.1 adapter: cases as bundles for threat-intelligence platforms (MISP, OpenCTI)."""

from hotline_gateway.adapters.stix.adapter import StixAdapter

__all__ = ["StixAdapter"]
