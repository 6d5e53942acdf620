"""CyberTipline-style adapter: reports for a law-enforcement clearinghouse's reporting API."""

from hotline_gateway.adapters.cybertip.adapter import CybertipAdapter

__all__ = ["CybertipAdapter"]
