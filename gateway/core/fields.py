"""Which canonical fields a case actually uses, as the paths adapters list in ``carries``.

``translate`` compares these with the target adapter's ``carries`` to say what a conversion drops,
and the adapter contract tests use them to check that a round trip keeps everything carried.
"""

from __future__ import annotations

from typing import Any

from hotline_gateway.core.model import Case, dump_case


def _walk(value: Any, prefix: str, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _walk(sub, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list):
        if value and all(isinstance(v, dict | list) for v in value):
            for v in value:
                _walk(v, prefix + "[]", out)
        else:
            out.add(prefix + "[]" if value and not isinstance(value[0], dict | list) else prefix)
    else:
        out.add(prefix)


def used_fields(case: Case) -> set[str]:
    """Leaf paths present in the case's canonical JSON, e.g. ``items[].hosting.asn``."""
    out: set[str] = set()
    _walk(dump_case(case), "", out)
    return out


def dropped_fields(cases: list[Case], carries: frozenset[str]) -> list[str]:
    """Used paths that ``carries`` does not cover (a carried parent covers its children)."""
    used: set[str] = set()
    for case in cases:
        used |= used_fields(case)
    covered = {c.rstrip("[]") for c in carries} | set(carries)

    def is_carried(path: str) -> bool:
        probe = path
        while True:
            if probe in covered or probe.rstrip("[]") in covered:
                return True
            if "." not in probe:
                return False
            probe = probe.rsplit(".", 1)[0]

    return sorted(p for p in used if not is_carried(p))
