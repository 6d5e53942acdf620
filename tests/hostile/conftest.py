"""Witnesses for the hostile XML tests: a secret file, a FIFO and a recording loopback listener."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline_gateway.core import xmlsafe
from tests.hostile.corpus import Witnesses, make_witnesses


@pytest.fixture
def witnesses(tmp_path: Path) -> Iterator[Witnesses]:
    w, close = make_witnesses(tmp_path / "witnesses")
    yield w
    close()


@pytest.fixture(params=["parser-alone", "with-early-refusal"])
def early_refusal(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test twice: once with the byte-level shortcut bypassed, so the parser alone is the defence."""
    if request.param == "parser-alone":
        monkeypatch.setattr(xmlsafe, "_early_refusal", lambda data, fmt: None)
    return str(request.param)
