"""Tests of the JSON wire adapters (``iccam``, ``dsa-notice``): schemas, round trips, hostile input."""
