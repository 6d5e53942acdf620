"""What an indicator's STIX pattern says about content: the URLs it matches and the file hashes beside them.

Patterns are parsed with the OASIS grammar (stix2-patterns, STIX 2.1 dialect), never with a regex:
quoting, escapes and boolean structure are the grammar's business. The grammar's parser recurses once
per nesting level, so a pattern is bounded before it is parsed: its length, and its nesting depth
counted outside quoted strings. Only equality comparisons count; ``LIKE``, ``MATCHES``, ``!=`` and the
rest describe many URLs, not one a hotline can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stix2patterns.exceptions import ParseException
from stix2patterns.v21.pattern import Pattern

MAX_PATTERN = 16 * 1024
MAX_NESTING = 32
_ESCAPE = re.compile(r"\\(['\\])")


@dataclass(slots=True)
class PatternFacts:
    urls: list[str] = field(default_factory=list)
    #: (hash key as written, value)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    #: observations joined only by AND: the hashes describe the file at the URL, not an alternative
    together: bool = True


def _string(literal: str) -> str | None:
    """The value of a quoted STIX string literal (``'it\\'s'`` → ``it's``); None for any other literal."""
    if len(literal) < 2 or literal[0] != "'" or literal[-1] != "'":
        return None
    return _ESCAPE.sub(r"\1", literal[1:-1])


def nesting(pattern: str) -> int:
    """The deepest nesting of brackets and parentheses outside quoted strings."""
    depth = deepest = 0
    quoted = escaped = False
    for char in pattern:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == "'":
                quoted = False
        elif char == "'":
            quoted = True
        elif char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    return deepest


def read(pattern: str) -> PatternFacts:
    """Raises ValueError (with a reason a sender can act on) when the pattern is not one we read."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern longer than {MAX_PATTERN} characters")
    if nesting(pattern) > MAX_NESTING:
        raise ValueError(f"pattern nested deeper than {MAX_NESTING} levels")
    try:
        data = Pattern(pattern).inspect()
    except (ParseException, TypeError, ValueError) as exc:
        raise ValueError(f"not valid STIX 2.1 patterning: {str(exc)[:200]}") from None
    facts = PatternFacts(together=not ({"OR", "FOLLOWEDBY"} & set(data.observation_ops)))
    for kind, comparisons in data.comparisons.items():
        for path, op, literal in comparisons:
            value = _string(str(literal))
            if op != "=" or value is None:
                continue
            if kind == "url" and path == ["value"]:
                facts.urls.append(value)
            elif kind == "file" and len(path) == 2 and path[0] == "hashes" and isinstance(path[1], str):
                facts.hashes.append((path[1], value))
    return facts
