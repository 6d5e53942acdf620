"""A large backlog for a partner that is down, then drained: memory of each gateway, and the drain rate.

FR-PDC runs alone (DE-HOTLINE's address answers nothing) while ``--count`` cases hosted in DE are
submitted to its intake in large batches (under the default 1 MiB body limit, 4 requests in flight),
each one delivery to DE queued durably. FR's resident memory is printed at every tenth of the way,
at 100,000 queued and at the end, so a queue that grows in memory shows. Then DE-HOTLINE is
started and the backlog drains; delivered rows are counted by SQL at FR once a second.

Printed: FR's RSS along the queue, each gateway's peak RSS (``VmHWM``), how long after DE came up
the first delivery landed (the circuit breaker's reset), the drain rate between 5 % and 95 % of the
backlog (the bulk), and when the last delivery landed (deliveries that failed while DE was down wait
out their retry backoff, so the tail can be long). Last line:
``backlog queued=<n> peak_rss_mb=<n> drain_per_s=<n>`` (peak of the two gateways, bulk drain rate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    CaseSource,
    delivery_setting,
    gateway_counter,
    rss_mb,
    spawn_gateway,
    stop,
    submit_all,
    until_ready,
    write_pair,
)

#: under the gateway's default 1 MiB body limit with the largest generated case (about 13 KB)
BATCH = 64
CHECKPOINT = 100_000


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="deliveries to queue (default 1,000,000)")
    parser.add_argument("--store", default="sqlite",
                        help="the gateways' store: sqlite (default) or a URL, for builds that support one")
    parser.add_argument("--delivery", type=delivery_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="override a [delivery] setting of both gateways (default: none, the gateway's "
                             "defaults); repeatable")
    parser.add_argument("--drain-timeout", type=float, default=3600,
                        help="stop waiting for the last deliveries after this many seconds (default 3600)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.drain_timeout <= 0:
        parser.error("--count and --drain-timeout must be positive")
    return args


async def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="hotline-backlog-") as tmp:
        base = Path(tmp)
        pair = write_pair(base, args.store, dict(args.delivery))
        log = base / "gateways.log"
        fr = spawn_gateway(pair.fr_config, log)
        de = None
        counter = gateway_counter(pair, args.store)
        try:
            await until_ready(pair.fr_url, fr)
            rss_at: dict[int, float] = {}
            marks = sorted({args.count * k // 10 for k in range(1, 11)} | {min(CHECKPOINT, args.count)})
            started = time.perf_counter()

            def progress(requests: int) -> None:
                queued = min(requests * BATCH, args.count)
                while marks and queued >= marks[0]:
                    mark = marks.pop(0)
                    rss_at[mark] = rss_mb(fr.pid)
                    print(f"queued={mark} fr_rss_mb={rss_at[mark]:.1f} "
                          f"intake_per_s={mark / (time.perf_counter() - started):.0f}", flush=True)

            await submit_all(pair.fr_url, CaseSource().bodies(args.count, BATCH), progress=progress)
            intake_s = time.perf_counter() - started
            fr_queued_hwm = rss_mb(fr.pid, "VmHWM")
            print(f"queued {args.count} in {intake_s:.0f} s ({args.count / intake_s:.0f} cases/s), DE down; "
                  f"FR rss_mb at {min(CHECKPOINT, args.count)}={rss_at[min(CHECKPOINT, args.count)]:.1f} "
                  f"at {args.count}={rss_at[args.count]:.1f} peak_so_far={fr_queued_hwm:.1f}", flush=True)

            de = spawn_gateway(pair.de_config, log)
            await until_ready(pair.de_url, de)
            de_up = time.perf_counter()
            first = low = high = last = None
            lo_n, hi_n = max(1, args.count * 5 // 100), max(1, args.count * 95 // 100)
            delivered = 0
            while time.perf_counter() - de_up < args.drain_timeout:
                delivered = counter.count()
                now = time.perf_counter()
                first = first if first is not None or delivered == 0 else now
                low = low if low is not None or delivered < lo_n else (now, delivered)
                high = high if high is not None or delivered < hi_n else (now, delivered)
                if delivered >= args.count:
                    last = now
                    break
                await asyncio.sleep(1.0)
            fr_peak, de_peak = rss_mb(fr.pid, "VmHWM"), rss_mb(de.pid, "VmHWM")
            print(f"peak_rss_mb FR-PDC={fr_peak:.1f} DE-HOTLINE={de_peak:.1f}", flush=True)
            if first is not None:
                print(f"first delivery {first - de_up:.1f} s after DE was ready", flush=True)
            bulk = ((high[1] - low[1]) / (high[0] - low[0]) if low and high and high[0] > low[0] else float("nan"))
            if last is not None:
                print(f"all {args.count} delivered {last - de_up:.0f} s after DE was ready "
                      f"({args.count / (last - de_up):.0f}/s overall)", flush=True)
            else:
                print(f"{delivered} of {args.count} delivered when --drain-timeout ran out; the rest wait on "
                      "retry backoff or failed", flush=True)
            print(f"backlog queued={args.count} peak_rss_mb={max(fr_peak, de_peak):.0f} drain_per_s={bulk:.0f}",
                  flush=True)
        finally:
            counter.close()
            stop(*(p for p in (fr, de) if p is not None))
            with contextlib.suppress(OSError):
                errors = [line for line in log.read_text(errors="replace").splitlines()
                          if '"error"' in line or "Traceback" in line]
                if errors:
                    print(f"gateway errors ({len(errors)}), last: {errors[-1][:500]}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
