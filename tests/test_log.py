"""Logging: loggers are cached on first use, and reconfiguring (stream, renderer) still reaches them."""

from __future__ import annotations

import io
from collections.abc import Iterator

import orjson
import pytest
import structlog

from hotline_gateway.core.log import configure, get_logger


@pytest.fixture(autouse=True)
def default_logging() -> Iterator[None]:
    yield
    configure()  # the defaults again, for the tests that follow


def test_loggers_are_cached_on_first_use() -> None:
    configure(stream=io.StringIO(), json=True)
    assert structlog.get_config()["cache_logger_on_first_use"] is True


def test_a_logger_cached_before_reconfiguration_follows_the_new_stream_and_renderer() -> None:
    log = get_logger("tests.log.cached")
    first, second = io.StringIO(), io.StringIO()
    configure(stream=first, json=True)
    log.info("first.event", message_id="m-1")
    configure(stream=second, json=False)
    log.info("second.event", message_id="m-2")
    [line] = first.getvalue().splitlines()
    assert orjson.loads(line)["event"] == "first.event" and orjson.loads(line)["message_id"] == "m-1"
    text = second.getvalue()
    assert "second.event" in text and "message_id=m-2" in text and not text.startswith("{")
    assert "second.event" not in first.getvalue()


def test_without_a_stream_lines_go_to_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    log = get_logger("tests.log.stderr")
    configure(json=True)
    log.info("to.stderr", partner="DE-HOTLINE")
    assert orjson.loads(capsys.readouterr().err.splitlines()[-1])["event"] == "to.stderr"


def test_redaction_still_applies_to_cached_loggers() -> None:
    log = get_logger("tests.log.redact")
    out = io.StringIO()
    configure(stream=out, json=True)
    log.info("x", reporter="Erika Zeugin", email="erika@mail.test")
    log.info("y", reporter="Erika Zeugin")
    assert "Erika" not in out.getvalue() and "erika@" not in out.getvalue()
