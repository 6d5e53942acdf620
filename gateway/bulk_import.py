"""Bulk import of a backlog into a running gateway's local intake, resumable and in constant memory.

The file is read line by line and sent in batches, a few at a time. A journal beside the input
(``<file>.import-state``) records, as soon as each batch is acknowledged, the byte offset up to which
every line has been accepted or rejected, plus the byte ranges of batches acknowledged beyond it
(requests finish out of order). It is replaced atomically (write, fsync, rename), so an import killed
at any moment and run again skips everything acknowledged. Only a batch whose answer arrived in the
instant before the kill, or was still on its way, can be sent a second time, and the gateway's intake
is idempotent by case id: it answers "not new" and stores nothing twice. Bad lines (not JSON, schema
violations, or refused by the gateway) go to a rejects file with their line number and reason; the
rest go through.

Memory stays constant: at most ``concurrency`` requests are in flight and at most twice that many
batches are open (a finished batch keeps only its byte range until the ones before it finish).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from hotline_gateway.core.errors import BadInput, GatewayError
from hotline_gateway.core.files import atomic_write, open_private
from hotline_gateway.core.log import get_logger
from hotline_gateway.core.schema import case_validator

log = get_logger(__name__)

#: (cases newly accepted, cases the gateway already had, lines refused with their reasons)
Result = tuple[int, int, list[dict[str, Any]]]
#: how many bytes before the journal's offset identify the file it belongs to
FINGERPRINT_BYTES = 4096
#: statuses that name something wrong with the batch itself: split it to find the bad case(s)
REFUSED = frozenset({400, 409, 413, 415, 422})


class GatewayUnreachable(GatewayError):
    code = "gateway_unreachable"
    exit_code = 1


@dataclass
class Batch:
    start_offset: int
    end_offset: int
    end_line: int
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)


def fingerprint(path: Path, offset: int) -> str:
    """Digest of the bytes just before ``offset``: a journal resumes only the file it was written for."""
    with path.open("rb") as fh:
        fh.seek(max(0, offset - FINGERPRINT_BYTES))
        return hashlib.sha256(fh.read(min(offset, FINGERPRINT_BYTES))).hexdigest()


@dataclass
class Journal:
    path: Path
    offset: int = 0
    line: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    fingerprint: str = ""
    #: [start, end, end_line] of batches acknowledged beyond ``offset``, in file order
    ahead: list[list[int]] = field(default_factory=list)

    @property
    def done_bytes(self) -> int:
        return self.offset + sum(end - start for start, end, _ in self.ahead)

    def mark_done(self, start: int, end: int, end_line: int) -> None:
        """Record a finished byte range; the contiguous offset absorbs every range that now touches it."""
        self.ahead.append([start, end, end_line])
        self.ahead.sort()
        while self.ahead and self.ahead[0][0] <= self.offset:
            _, end, end_line = self.ahead.pop(0)
            if end > self.offset:
                self.offset, self.line = end, end_line

    @classmethod
    def load(cls, path: Path) -> Journal:
        if path.is_symlink():
            raise BadInput(f"{path}: is a symbolic link; the import journal is never read or written through one")
        try:
            doc = orjson.loads(path.read_bytes())
            counts = {k: int(doc[k]) for k in ("offset", "line", "accepted", "duplicates", "rejected")}
            ahead = [[int(start), int(end), int(line)] for start, end, line in doc.get("ahead", [])]
            return cls(path, **counts, fingerprint=str(doc.get("fingerprint", "")), ahead=ahead)
        except FileNotFoundError:
            return cls(path)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise BadInput(f"{path}: import journal is damaged; delete it to start over") from None
        except OSError as exc:
            raise BadInput(f"{path}: cannot read the import journal ({exc.strerror})") from None

    def check(self, source: Path) -> None:
        """Refuse to resume a journal written for another file (or for this file before it was rewritten)."""
        if self.offset == 0 and not self.ahead:
            return
        furthest = max([self.offset, *(end for _, end, _ in self.ahead)])
        if source.stat().st_size < furthest or (self.fingerprint and
                                                fingerprint(source, self.offset) != self.fingerprint):
            raise BadInput(f"{self.path}: this journal belongs to another version of {source.name}; "
                           "delete it to import the file from the start")

    def save(self, source: Path) -> None:
        self.fingerprint = fingerprint(source, self.offset)
        data = orjson.dumps({"offset": self.offset, "line": self.line, "accepted": self.accepted,
                             "duplicates": self.duplicates, "rejected": self.rejected,
                             "fingerprint": self.fingerprint, "ahead": self.ahead})
        atomic_write(self.path, data)  # owner-only, never through a link planted in a shared folder


def batches(path: Path, start_offset: int, start_line: int, size: int,
            skip: list[list[int]] | None = None) -> Generator[Batch, None, None]:
    """Lines from ``start_offset`` on, checked locally, in batches; bad lines ride along as rejects.

    ``skip`` holds [start, end, end_line] ranges already acknowledged (the journal's ``ahead``): jumped over.
    """
    validator = case_validator()
    skips = deque(sorted(r for r in skip or [] if r[1] > start_offset))
    with path.open("rb") as fh:
        fh.seek(start_offset)
        offset, number = start_offset, start_line
        batch = Batch(offset, offset, number)
        while True:
            if skips and skips[0][0] <= offset:
                _, end, end_line = skips.popleft()
                if end > offset:
                    fh.seek(end)
                    offset, number = end, end_line
                    if batch.lines or batch.rejects:  # the batch spans the range: finishing it covers that too
                        batch.end_offset, batch.end_line = offset, number
                    else:
                        batch = Batch(offset, offset, number)
                continue
            raw = fh.readline()
            if not raw:
                break
            offset += len(raw)
            number += 1
            line = raw.strip()
            if line:
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    batch.rejects.append({"line": number, "error": f"not JSON ({exc})"})
                else:
                    problems = validator.problems(doc)
                    if problems:
                        batch.rejects.append({"line": number, "error": "; ".join(str(p) for p in problems[:5])})
                    else:
                        batch.lines.append((number, line))
            batch.end_offset, batch.end_line = offset, number
            if len(batch.lines) >= size:
                yield batch
                batch = Batch(offset, offset, number)
        if batch.end_offset != batch.start_offset:
            yield batch


@dataclass
class _Slot:
    """A batch in the window: sent (its task), then committed to the journal, then dropped."""

    batch: Batch
    task: asyncio.Task[Result]
    committed: bool = False


@dataclass
class Importer:
    url: str
    token: str
    source: Path
    rejects_path: Path
    batch_size: int = 500
    concurrency: int = 4
    #: attempts per request before the gateway counts as unreachable (backoff 0.2 s doubling, at most 5 s)
    attempts: int = 6
    on_progress: Callable[[int, Journal], None] | None = None
    journal: Journal = field(init=False)

    def __post_init__(self) -> None:
        self.journal = Journal.load(self.source.with_name(self.source.name + ".import-state"))
        self.journal.check(self.source)

    async def _post(self, session: aiohttp.ClientSession, lines: list[tuple[int, bytes]]) -> Result:
        """Send lines; a refused batch is split until the refused lines are found. (accepted, dup, rejects)"""
        body = b"[" + b",".join(line for _, line in lines) + b"]"
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        status, answer = 0, b""
        for attempt in range(self.attempts):
            try:
                async with session.post(f"{self.url}/v1/cases", data=body, headers=headers) as resp:
                    status, answer = resp.status, await resp.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                status, answer = 0, str(exc).encode()
            if status == 202:
                accepted = orjson.loads(answer)["accepted"]
                new = sum(1 for a in accepted if a["new"])
                return new, len(accepted) - new, []
            if status in REFUSED:
                break
            if status in (401, 403):
                raise GatewayUnreachable(f"{self.url} refused the intake token ({status})")
            log.info("import.retry", status=status, attempt=attempt + 1, first_line=lines[0][0])
            if attempt + 1 < self.attempts:
                await asyncio.sleep(min(0.2 * 2 ** attempt, 5))
        else:
            last = f"status {status}" if status else f"no connection: {answer.decode(errors='replace')}"
            raise GatewayUnreachable(f"{self.url} did not accept a batch after {self.attempts} attempt(s) ({last})")
        if len(lines) == 1:
            return 0, 0, [{"line": lines[0][0], "error": f"gateway: {_reason(status, answer)}"}]
        log.info("import.split", status=status, first_line=lines[0][0], lines=len(lines))
        half = len(lines) // 2
        a1, d1, r1 = await self._post(session, lines[:half])
        a2, d2, r2 = await self._post(session, lines[half:])
        return a1 + a2, d1 + d2, r1 + r2

    async def run(self) -> Journal:
        """Send the rest of the file; returns the journal once every line is accepted or rejected."""
        j = self.journal
        if j.offset or j.ahead:
            log.info("import.resume", line=j.line, offset=j.offset, ranges_ahead=len(j.ahead), accepted=j.accepted)
        window: deque[_Slot] = deque()
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=300)
        source = batches(self.source, j.offset, j.line, self.batch_size, [list(r) for r in j.ahead])
        exhausted = False
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                while True:
                    running = [slot.task for slot in window if not slot.task.done()]
                    while not exhausted and len(running) < self.concurrency and len(window) < 2 * self.concurrency:
                        # Reading and validating the next batch runs in a thread while requests are in flight.
                        batch = await asyncio.to_thread(next, source, None)
                        if batch is None:
                            exhausted = True
                            break
                        task = asyncio.create_task(self._post(session, batch.lines) if batch.lines else _nothing())
                        window.append(_Slot(batch, task))
                        running.append(task)
                    if not window:
                        break
                    if running:
                        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for slot in window:
                        if slot.task.done() and not slot.committed:
                            self._commit(slot.batch, slot.task.result())
                            slot.committed = True
                            slot.batch.lines = []  # only its byte range is needed from now on
                    while window and window[0].committed:
                        window.popleft()
        finally:
            for slot in window:
                slot.task.cancel()
            await asyncio.gather(*(slot.task for slot in window), return_exceptions=True)
            with contextlib.suppress(ValueError):  # still running in its thread if we were cancelled mid-read
                source.close()
        return j

    def _commit(self, batch: Batch, result: Result) -> None:
        """Rejects first, then the journal: a crash between them repeats rejects, never loses them."""
        new, dup, refused = result
        j = self.journal
        rejects = sorted(batch.rejects + refused, key=lambda r: int(r["line"]))
        if rejects:
            # Rejected lines hold reporters' contact data: owner-only, appended without following a link.
            try:
                fd = open_private(self.rejects_path, "a")
            except OSError as exc:
                raise BadInput(f"{self.rejects_path}: cannot write the rejects file ({exc.strerror}; a symbolic "
                               "link is never followed)") from None
            with os.fdopen(fd, "ab") as fh:
                fh.write(b"".join(orjson.dumps(r) + b"\n" for r in rejects))
                fh.flush()
                os.fsync(fh.fileno())
        j.mark_done(batch.start_offset, batch.end_offset, batch.end_line)
        j.accepted += new
        j.duplicates += dup
        j.rejected += len(rejects)
        j.save(self.source)
        if self.on_progress is not None:
            self.on_progress(j.done_bytes, j)


def _reason(status: int, answer: bytes) -> str:
    """The problem's detail and the field paths it names, without echoing the case itself."""
    try:
        problem = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return f"refused with status {status}"
    if not isinstance(problem, dict):
        return f"refused with status {status}"
    code, detail = problem.get("code", status), problem.get("detail", "")
    return f"{code}: {detail}" if detail else str(code)


async def _nothing() -> Result:
    return 0, 0, []
