"""Small CPU work runs on the event loop, costly work never does (issue 11): a body of a few kilobytes is
checked where it arrives (the hand-off to a worker cost more than the work), but a step that turns out
costly there (explaining a refusal in full) is run again in the worker pool, with the same answer."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hotline_gateway.core.deferral import INLINE_BYTES, Deferred, defer_if_on_loop, on_loop
from hotline_gateway.core.errors import ValidationError
from hotline_gateway.core.schema import case_validator
from hotline_gateway.pipeline.offload import CpuPool


async def test_small_work_runs_on_the_loop_and_large_work_in_the_pool() -> None:
    pool = CpuPool(1)
    try:
        loop_thread = threading.get_ident()
        assert await pool.run_sized(INLINE_BYTES, threading.get_ident) == loop_thread
        assert await pool.run_sized(INLINE_BYTES + 1, threading.get_ident) != loop_thread
    finally:
        pool.close()


async def test_a_step_that_turns_costly_on_the_loop_is_run_again_in_the_pool() -> None:
    pool = CpuPool(1)
    ran: list[int] = []

    def step() -> int:
        ran.append(threading.get_ident())
        defer_if_on_loop()
        return threading.get_ident()

    try:
        done_in = await pool.run_sized(10, step)
        assert ran[0] == threading.get_ident(), "the first attempt was not on the loop"
        assert len(ran) == 2 and done_in == ran[1] != ran[0], "the step was not finished in the pool"
    finally:
        pool.close()


async def test_deferral_is_not_mistaken_for_a_refusal_by_a_step_that_catches_errors() -> None:
    """A step that turns failures into answers (``except Exception``) still lets the deferral through."""
    pool = CpuPool(1)

    def step() -> str:
        try:
            defer_if_on_loop()
        except Exception:  # the point of the test: a broad handler
            return "refused"
        return "checked in the pool"

    try:
        assert await pool.run_sized(10, step) == "checked in the pool"
    finally:
        pool.close()


def test_a_valid_case_is_checked_on_the_loop_and_an_invalid_one_is_explained_off_it(
        case_doc: dict[str, Any]) -> None:
    validator = case_validator()
    with on_loop():
        assert validator.problems(case_doc) == []
    bad = {**case_doc, "category": "nonsense", "tlp": 7}
    with on_loop(), pytest.raises(Deferred):
        validator.problems(bad)
    assert {p.path for p in validator.problems(bad)} == {"$.category", "$.tlp"}


async def test_an_invalid_small_case_is_refused_with_every_bad_field_through_the_pool(
        case_doc: dict[str, Any]) -> None:
    pool = CpuPool(1)
    bad = {**case_doc, "category": "nonsense", "tlp": 7}
    try:
        with pytest.raises(ValidationError) as caught:
            await pool.run_sized(100, case_validator().validate, bad)
        assert {p.path for p in caught.value.problems} == {"$.category", "$.tlp"}
    finally:
        pool.close()
