"""``init``, ``serve``, ``status``, ``audit verify`` and ``retry``: running one gateway."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline_gateway.cli.output import emit, table
from hotline_gateway.core.errors import BadInput
from hotline_gateway.core.files import private_dir

if TYPE_CHECKING:
    from hotline_gateway import config as config_mod
    from hotline_gateway.store.interface import Store

INIT_TEMPLATE = """\
# hotline-gateway configuration written by `hotline-gateway init`.
# Paths are relative to this file. Reference: README.md and schemas/config.schema.json.

[gateway]
id = "{id}"                 # our party id, as partners know us
country = "{country}"       # where we are: decides what is hosted "at home"
role = "{role}"
host = "127.0.0.1"            # plain HTTP: listen on loopback, with a TLS proxy in front (docs/deploy.md)
port = {port}
{public_url}data_dir = "data"           # the SQLite store lives here
# store = "postgresql://hotline@db.internal:5432/hotline_fr"   # several nodes: one PostgreSQL database
# node = "fr-1"             # each node its own name, config file and port; same id, keys and store
keys_dir = "keys"           # our key directory: keyring.json (public) and *.key (private, 0600)
intake_token_file = "intake.token"   # bearer token of the local case system (POST /v1/cases)
operator_password_file = "operator.scrypt"  # status page sign-in: hotline-gateway operator set-password
max_body_bytes = 1048576
clock_skew_s = 300

[delivery]
deadline_s = 86400          # after this a delivery that keeps failing becomes a dead letter
base_delay_s = 1.0
max_delay_s = 600.0
batch_size = 100
concurrency = 4

# Partners: one block each. Their public keys go in a key directory or keyring.json (`keys`).
# [[partners]]
# id = "DE-HOTLINE"
# kind = "hotline"           # hotline | law_enforcement | network | host | platform
# country = "DE"
# endpoint = "https://gateway.hotline.invalid/v1/messages"
# format = "native"
# transport = "native-http"
# keys = "partners/DE-HOTLINE"
# categories = ["csam", "csem", "ncii"]
# tlp_max = "amber"          # highest TLP it may receive: cases marked above stay here
# receive_reporter = false

# Routing: without [[routes]] blocks the national-hotline defaults apply (see README: Routing).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("init", parents=[common], help="write a runnable single-node configuration with fresh keys")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--id", default="XX-HOTLINE", help="our party id (default: XX-HOTLINE)")
    p.add_argument("--country", default="XX", help="our ISO 3166 country code")
    p.add_argument("--port", type=int, default=8443)
    p.add_argument("--role", choices=("hotline", "law_enforcement", "network"), default="hotline")
    p.add_argument("--public-url", metavar="URL",
                   help="the address partners use, e.g. https://gateway.hotline.example (the TLS proxy in front)")
    p.set_defaults(run=run_init)

    p = sub.add_parser("serve", parents=[common], help="run the gateway until SIGTERM")
    p.add_argument("--config", required=True, metavar="FILE")
    p.set_defaults(run=run_serve)

    p = sub.add_parser("status", parents=[common], help="per partner: queued, in flight, delivered, dead letters")
    p.add_argument("--config", required=True, metavar="FILE")
    p.set_defaults(run=run_status)

    p = sub.add_parser("audit", parents=[common], help="audit trail commands")
    audit_sub = p.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    v = audit_sub.add_parser("verify", parents=[common],
                             help="check the hash chain, the case documents and payloads it covers, and its signed "
                                  "checkpoints; names the first bad entry")
    v.add_argument("--config", required=True, metavar="FILE")
    v.add_argument("--witnesses", action="store_true",
                   help="also ask partner gateways for the checkpoints of ours they hold, and hold the chain "
                        "against them (detects a truncated or rewritten chain even when our key was used)")
    v.set_defaults(run=run_audit_verify)

    p = sub.add_parser("retry", parents=[common], help="put dead letters back in the queue")
    p.add_argument("--config", required=True, metavar="FILE")
    p.add_argument("--partner", help="only this partner's dead letters")
    p.set_defaults(run=run_retry)


def run_init(args: argparse.Namespace) -> int:
    from hotline_gateway import config as config_mod
    from hotline_gateway.crypto.keydir import generate

    root = Path(args.dir)
    cfg = root / "config.toml"
    if cfg.exists():
        raise BadInput(f"{cfg}: already exists; not overwriting")
    private_dir(root / "data")
    (root / "partners").mkdir(exist_ok=True)
    kid = f"{args.id}-{time.strftime('%Y%m%d')}"
    generate(root / "keys", kid, owner=args.id)
    token_file = root / "intake.token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")
    public_url = (f'public_url = "{args.public_url}"   # what partners call; signatures are checked against it\n'
                  if args.public_url else "")
    cfg.write_text(INIT_TEMPLATE.format(id=args.id, country=args.country, port=args.port, role=args.role,
                                        public_url=public_url), encoding="utf-8")
    config_mod.load(cfg)  # what we write must load
    emit(args, {"config": str(cfg), "kid": kid, "intake_token_file": str(token_file)},
         f"wrote {cfg}\nsigning key {kid} in {root / 'keys'}\nintake token in {token_file}\n"
         f"run: hotline-gateway serve --config {cfg}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from hotline_gateway.cli.startup import listen_error, startup_info, startup_text
    from hotline_gateway.service import RunningGateway, serve
    from hotline_gateway.transports import registry as transports

    config = transports.load(args.config)

    def ready(gw: RunningGateway) -> None:
        info = startup_info(gw)
        emit(args, info, startup_text(info))
        sys.stdout.flush()

    try:
        asyncio.run(serve(config, on_ready=ready))
    except OSError as exc:
        raise listen_error(config, exc) from None
    return 0


async def with_store(config_file: str) -> tuple[config_mod.Config, Store]:
    from hotline_gateway.store import open_store, store_exists
    from hotline_gateway.transports import registry as transports

    config = transports.load(config_file)
    if not store_exists(config):
        raise BadInput(f"{config.db_path}: no store yet (has the gateway run?)")
    return config, await open_store(config, recover=False)


def run_status(args: argparse.Namespace) -> int:
    from hotline_gateway.pipeline.lifecycle_view import overdue

    async def go() -> int:
        config, store = await with_store(args.config)
        try:
            stats = await store.partner_status()
            circuits = await store.circuits()
            unacknowledged = await store.lifecycle_unacknowledged(time.time() - config.delivery.retraction_ack_s)
        finally:
            await store.close()
        now = time.time()
        data: list[dict[str, Any]] = []
        for pid in sorted(set(config.partners) | set(stats)):
            st = stats.get(pid)
            data.append({
                "partner": pid, "queued": st.queued if st else 0, "in_flight": st.in_flight if st else 0,
                "delivered": st.delivered if st else 0, "dead": st.dead if st else 0,
                "oldest_queued_s": round(now - st.oldest_queued_at, 1) if st and st.oldest_queued_at else None,
                "last_error": st.last_error if st else None, "circuit": circuits.get(pid, ("closed", 0))[0],
            })
        rows = [[str(d["partner"]), str(d["queued"]), str(d["in_flight"]), str(d["delivered"]), str(d["dead"]),
                 str(d["circuit"]), str(d["last_error"] or "")[:60]] for d in data]
        late = overdue(unacknowledged)
        text = table(rows, ["partner", "queued", "in flight", "delivered", "dead", "circuit", "last error"])
        if late:
            text += (f"\n\n{len(late)} retraction(s)/correction(s) overdue (not acknowledged within "
                     f"{config.delivery.retraction_ack_s:g} s):\n")
            text += table([[d["case_id"], d["partner"], d["type"], d["state"], d["since"]] for d in late],
                          ["case", "partner", "type", "state", "queued at"])
        emit(args, {"gateway": config.id, "partners": data, "lifecycle_overdue": late}, text)
        return 0

    return asyncio.run(go())


def run_audit_verify(args: argparse.Namespace) -> int:
    from hotline_gateway.crypto.keyring import KeyRing
    from hotline_gateway.crypto.partner_keys import PartnerKeys
    from hotline_gateway.pipeline.audit_verify import verify_local, verify_witnesses

    async def go() -> int:
        config, store = await with_store(args.config)
        try:
            keyring = KeyRing(config.keys_dir)
            report = await verify_local(store, keyring.keys, config.id)
            if args.witnesses:
                gateways = [p for p in config.partners.values() if p.transport == "native-http"]
                await verify_witnesses(config, store, keyring, PartnerKeys(config.partner_key_paths()), report,
                                       gateways)
        finally:
            await store.close()
        data = report.as_dict()
        lines = [f"{'ok' if report.ok else 'BROKEN'}: {report.entries} entries, head {report.head or '-'}, "
                 f"{report.checkpoints} signed checkpoint(s)"]
        lines += [f"  witnessed by {p}: {n} checkpoint(s)" for p, n in report.witnessed.items()]
        lines += [f"  problem: {m}" for m in report.problems] + [f"  warning: {m}" for m in report.warnings]
        if report.problems:
            first = next((int(m.split()[2].rstrip(":")) for m in report.problems if m.startswith("audit entry ")),
                         None)
            data["first_bad_entry"] = first
            data["reason"] = report.problems[0]
        emit(args, data, "\n".join(lines))
        return 0 if report.ok else 1

    return asyncio.run(go())


def run_retry(args: argparse.Namespace) -> int:
    async def go() -> int:
        config, store = await with_store(args.config)
        try:
            count = await store.requeue_dead(args.partner, deadline_s=config.delivery.deadline_s)
        finally:
            await store.close()
        emit(args, {"requeued": count}, f"requeued {count} dead letter(s)")
        return 0

    return asyncio.run(go())
