"""Decoding runs in worker threads: the XML adapters give, from eight threads at once, exactly what they give
one document at a time (a fresh parser per document, schemas compiled per thread)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hotline_gateway.core.model import Category, dump_case
from hotline_gateway.sim.samples import generate_cases
from tests.adapters.xml.support import CYBERTIP, IODEF


def test_xml_decoding_from_many_threads_at_once_matches_decoding_one_by_one() -> None:
    cases = [c for c in generate_cases(120, seed=61) if c.category in (Category.CSAM, Category.CSEM)][:40]
    jobs = [(adapter, adapter.encode(case)) for case in cases for adapter in (IODEF, CYBERTIP)]
    jobs += [(IODEF, b"<broken"), (CYBERTIP, b"<!DOCTYPE x><x/>")] * 10

    def run(job: tuple[object, bytes]) -> object:
        adapter, data = job
        try:
            return [dump_case(c) for c in adapter.decode(data)]  # type: ignore[attr-defined]
        except Exception as exc:  # compared as text: the same refusal either way
            return f"{type(exc).__name__}: {exc}"

    one_by_one = [run(job) for job in jobs]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(run, jobs * 3))
    assert together == one_by_one * 3
