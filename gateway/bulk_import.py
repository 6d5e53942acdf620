"""Bulk import of a backlog into a running gateway's local intake, resumable and in constant memory.

The file is read line by line and sent in batches, a few at a time. A journal beside the input
(``<file>.import-state``) records, after every acknowledged batch, the byte offset up to which every
line has been accepted or rejected; it is replaced atomically (write, fsync, rename), so an import
killed at any moment and run again starts where the journal says. Only a batch acknowledged in the
instant before the kill can be sent a second time, and the gateway's intake is idempotent by case id:
it answers "not new" and stores nothing twice. Bad lines (not JSON, schema violations, or refused
by the gateway) go to a rejects file with their line number and reason; the rest go through.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from gateway.errors import BadInput, GatewayError
from gateway.pipeline.validate import case_validator

#: (cases newly accepted, cases the gateway already had, lines refused with their reasons)
Result = tuple[int, int, list[dict[str, Any]]]


class GatewayUnreachable(GatewayError):
    code = "gateway_unreachable"
    exit_code = 1


@dataclass
class Batch:
    index: int
    end_offset: int
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Journal:
    path: Path
    offset: int = 0
    line: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0

    @classmethod
    def load(cls, path: Path) -> Journal:
        try:
            doc = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return cls(path)
        except orjson.JSONDecodeError:
            raise BadInput(f"{path}: import journal is damaged; delete it to start over") from None
        return cls(path, **{k: int(doc[k]) for k in ("offset", "line", "accepted", "duplicates", "rejected")})

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = orjson.dumps({"offset": self.offset, "line": self.line, "accepted": self.accepted,
                             "duplicates": self.duplicates, "rejected": self.rejected})
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(self.path)


def batches(path: Path, start_offset: int, start_line: int, size: int) -> Iterator[Batch]:
    """Lines from ``start_offset`` on, checked locally, in batches; bad lines ride along as rejects."""
    validator = case_validator()
    with path.open("rb") as fh:
        fh.seek(start_offset)
        offset, number, index = start_offset, start_line, 0
        batch = Batch(index, offset)
        for raw in fh:
            offset += len(raw)
            number += 1
            line = raw.strip()
            if line:
                try:
                    doc = orjson.loads(line)
                    problems = validator.problems(doc)
                    if problems:
                        batch.rejects.append({"line": number, "error": "; ".join(str(p) for p in problems[:5])})
                    else:
                        batch.lines.append((number, line))
                except orjson.JSONDecodeError as exc:
                    batch.rejects.append({"line": number, "error": f"not JSON ({exc})"})
            batch.end_offset = offset
            if len(batch.lines) >= size:
                yield batch
                index += 1
                batch = Batch(index, offset)
        if batch.lines or batch.rejects or batch.end_offset != start_offset:
            yield batch


@dataclass
class Importer:
    url: str
    token: str
    source: Path
    rejects_path: Path
    batch_size: int = 500
    concurrency: int = 4
    on_progress: Callable[[int, Journal], None] | None = None
    journal: Journal = field(init=False)

    def __post_init__(self) -> None:
        self.journal = Journal.load(self.source.with_name(self.source.name + ".import-state"))

    async def _post(self, session: aiohttp.ClientSession, lines: list[tuple[int, bytes]]) -> Result:
        """Send lines; a refused batch is split until the refused lines are found. (accepted, dup, rejects)"""
        body = b"[" + b",".join(line for _, line in lines) + b"]"
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in range(6):
            try:
                async with session.post(f"{self.url}/v1/cases", data=body, headers=headers) as resp:
                    status, answer = resp.status, await resp.read()
            except (aiohttp.ClientError, OSError, TimeoutError):
                status, answer = 0, b""
            if status == 202:
                accepted = orjson.loads(answer)["accepted"]
                new = sum(1 for a in accepted if a["new"])
                return new, len(accepted) - new, []
            if status in (400, 409, 413, 422):
                break
            if status == 401:
                raise GatewayUnreachable(f"{self.url} refused the intake token (401)")
            await asyncio.sleep(min(0.2 * 2 ** attempt, 5))
        else:
            raise GatewayUnreachable(f"{self.url} did not accept a batch after 6 attempts (last status {status})")
        if len(lines) == 1:
            reason = orjson.loads(answer).get("detail", f"refused with {status}") if answer else f"status {status}"
            return 0, 0, [{"line": lines[0][0], "error": f"gateway: {reason}"}]
        half = len(lines) // 2
        a1, d1, r1 = await self._post(session, lines[:half])
        a2, d2, r2 = await self._post(session, lines[half:])
        return a1 + a2, d1 + d2, r1 + r2

    async def run(self) -> Journal:
        j = self.journal
        pending: dict[int, asyncio.Task[Result]] = {}
        done: dict[int, tuple[Batch, Result]] = {}
        next_to_commit = 0
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=300)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            source = batches(self.source, j.offset, j.line, self.batch_size)
            exhausted = False
            waiting: dict[int, Batch] = {}
            while not exhausted or pending:
                while not exhausted and len(pending) < self.concurrency:
                    batch = next(source, None)
                    if batch is None:
                        exhausted = True
                        break
                    waiting[batch.index] = batch
                    pending[batch.index] = asyncio.create_task(self._post(session, batch.lines)) if batch.lines \
                        else asyncio.create_task(_nothing())
                if not pending:
                    break
                finished, _ = await asyncio.wait(pending.values(), return_when=asyncio.FIRST_COMPLETED)
                for index, task in list(pending.items()):
                    if task in finished:
                        done[index] = (waiting.pop(index), task.result())
                        del pending[index]
                while next_to_commit in done:
                    batch, (new, dup, refused) = done.pop(next_to_commit)
                    self._commit(batch, new, dup, refused)
                    next_to_commit += 1
        return j

    def _commit(self, batch: Batch, new: int, dup: int, refused: list[dict[str, Any]]) -> None:
        """Rejects first, then the journal: a crash between them repeats rejects, never loses them."""
        j = self.journal
        rejects = batch.rejects + refused
        if rejects:
            with self.rejects_path.open("ab") as fh:
                fh.write(b"".join(orjson.dumps(r) + b"\n" for r in sorted(rejects, key=lambda r: r["line"])))
                fh.flush()
                os.fsync(fh.fileno())
        j.offset = batch.end_offset
        j.line = max([j.line, *(n for n, _ in batch.lines), *(r["line"] for r in rejects)])
        j.accepted += new
        j.duplicates += dup
        j.rejected += len(rejects)
        j.save()
        if self.on_progress is not None:
            self.on_progress(batch.end_offset, j)


async def _nothing() -> Result:
    return 0, 0, []
