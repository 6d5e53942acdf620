"""Without a PostgreSQL server the PostgreSQL half of the suite is skipped, and the skip says why and
what to do; never silently."""

from __future__ import annotations

import pytest

from tests.support import postgres


def test_without_a_url_or_binaries_the_postgresql_tests_skip_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(postgres.ENV, raising=False)
    monkeypatch.setattr(postgres, "find_binaries", lambda: None)
    with pytest.raises(pytest.skip.Exception, match="HOTLINE_TEST_POSTGRES is not set and no PostgreSQL binaries"):
        postgres.start_server()


def test_a_url_that_is_not_a_postgresql_url_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres.ENV, "host=db user=hotline password=secret")
    with pytest.raises(pytest.fail.Exception, match="must be a postgresql:// URL") as failed:
        postgres.start_server()
    assert "secret" not in str(failed.value)


def test_a_given_url_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres.ENV, "postgresql://ci@127.0.0.1:5432/hotline_ci")
    server, throwaway = postgres.start_server()
    assert throwaway is None
    assert server.database_url("t1") == "postgresql://ci@127.0.0.1:5432/t1"
