"""Configuration: one TOML file per gateway, checked against ``schemas/config.schema.json``.

Every error names the file and the field path, so an operator can fix a config without reading code.
Relative paths in the file are relative to the file itself, so a config directory can move as a whole.
"""

from __future__ import annotations

import functools
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline_gateway.core.errors import ConfigError, FieldProblem, ValidationError
from hotline_gateway.core.model import Category, Tlp
from hotline_gateway.core.schema import SchemaValidator
from hotline_gateway.schemas import path as schema_path

#: destinations that routing resolves per item rather than naming a partner
SYMBOLIC_DESTINATIONS = frozenset({"@hotline", "@host", "@network"})
#: kinds of partner that must never receive reporter data, whatever the config says
NEVER_REPORTER = frozenset({"host", "platform", "network"})


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    deadline_s: float = 24 * 3600
    base_delay_s: float = 1.0
    max_delay_s: float = 600.0
    batch_size: int = 100
    #: batches in flight to one partner at first; grows while the partner keeps up (see pipeline/flow.py)
    concurrency: int = 4
    #: the most batches ever in flight to one partner
    max_concurrency: int = 16
    timeout_s: float = 30.0
    circuit_failures: int = 5
    circuit_reset_s: float = 30.0
    #: the longest an idle delivery lane sleeps before looking for due work again (new work and the
    #: next due retry wake it sooner)
    poll_interval_s: float = 1.0
    #: PostgreSQL store: how long a node's claim on a delivery stands before another node may take it over
    #: (a node that died mid-send); longer than a batch can take to send (``timeout_s`` per attempt)
    claim_lease_s: float = 120.0
    #: a retraction or correction not acknowledged this long after it was queued is overdue
    retraction_ack_s: float = 24 * 3600


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one client may cost the server: slow or endless requests are cut off, connections capped,
    every body bounded per endpoint, CPU-heavy work done by a bounded pool of threads."""

    #: a request line and headers must arrive within this many seconds of the connection (or of the
    #: previous response on a kept-alive connection)
    header_timeout_s: float = 10.0
    #: the whole body must arrive within this many seconds once the headers are in
    body_timeout_s: float = 30.0
    #: connections beyond this are closed on arrival (the file-descriptor limit is raised to fit)
    max_connections: int = 1024
    #: POST /v1/messages (partners): ``[gateway] max_body_bytes``
    partner_body_bytes: int = 1024 * 1024
    #: POST /v1/cases and the other local-intake endpoints (our own case system)
    local_body_bytes: int = 16 * 1024 * 1024
    cpu_workers: int = 2
    #: when set, GET /metrics requires this bearer token
    metrics_token: str | None = None


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long personal data and case documents are kept (``[retention]``; see pipeline/retention.py for
    each default's legal basis)."""

    reporter_days_after_closed: int = 30
    reporter_days_max: int = 365
    case_days: int = 730
    case_days_by_legal_class: Mapping[str, int] = field(
        default_factory=lambda: {"doubtful": 180, "not_illegal": 90})
    case_days_by_category: Mapping[str, int] = field(default_factory=dict)
    #: how often the scheduled job applies the policy
    interval_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    kind: str
    country: str | None = None
    name: str | None = None
    endpoint: str | None = None
    format: str = "native"
    transport: str = "native-http"
    keys: Path | None = None
    categories: frozenset[Category] = frozenset(Category)
    tlp_max: Tlp = Tlp.AMBER
    receive_reporter: bool = False
    may_send: bool = True
    #: items their originator retracted are forwarded to this partner only when true (a partner that keeps
    #: the complete record, e.g. the police); by default a retraction ends an item's journey
    forward_retracted: bool = False
    asns: frozenset[int] = frozenset()
    organisations: frozenset[str] = frozenset()
    #: the ``options`` table as written; its typed form is ``settings``, filled in by the transport's
    #: plug-in when the gateway loads (paths in it are relative to ``base``)
    options: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    base: Path = Path()
    settings: Any = field(default=None, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    to: tuple[str, ...]
    origin: frozenset[str] | None = None
    category: frozenset[str] | None = None
    legal_class: frozenset[str] | None = None
    hosted_in: frozenset[str] | None = None
    final: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    id: str
    country: str
    role: str
    host: str
    port: int
    public_url: str
    data_dir: Path
    keys_dir: Path
    intake_token: str | None
    max_body_bytes: int
    clock_skew_s: int
    shutdown_timeout_s: float
    delivery: DeliverySettings
    limits: ServerLimits
    partners: dict[str, Partner]
    routes: tuple[Route, ...]
    operator_password_file: Path | None = None
    #: how often the audit chain's head is signed (and always on shutdown)
    audit_checkpoint_s: float = 60.0
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    #: a PostgreSQL URL shared by the nodes of this gateway; None: the SQLite file in ``data_dir``
    store_url: str | None = None
    #: the reporter-key vault of a PostgreSQL store: a database of its own, left out of the store's
    #: backups (None: a table in the store's own database, see README)
    vault_url: str | None = None
    #: this node's name among the gateway's nodes (PostgreSQL store): whose claims are whose
    node: str = "node"
    #: how long a node leads the singletons without renewing before another takes over (PostgreSQL store)
    leader_lease_s: float = 15.0
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def db_path(self) -> Path:
        """The SQLite store's file (used only when no ``store`` URL is configured)."""
        return self.data_dir / "gateway.sqlite3"

    def partner_key_paths(self) -> dict[str, Path]:
        """Where each partner's public keys are (partners without keys are left out)."""
        return {p.id: p.keys for p in self.partners.values() if p.keys is not None}

    def partner(self, partner_id: str) -> Partner:
        try:
            return self.partners[partner_id]
        except KeyError:
            raise ConfigError(f"{self.path}: no partner {partner_id!r}") from None


def default_routes(role: str = "hotline") -> list[dict[str, Any]]:
    """Routes when the config has none. A national hotline's: police and host at home, the hosting
    country's hotline abroad. A law-enforcement or network gateway receives and keeps: it forwards
    nothing unless its configuration says where (``gateway.role`` decides which)."""
    if role != "hotline":
        return [{"name": f"{role}-receives-and-keeps", "to": [], "final": True}]
    return [
        {"name": "not-illegal-stays-here", "legal_class": ["not_illegal"], "to": [], "final": True},
        {"name": "partner-cases-stay-with-us", "origin": ["partner"], "hosted_in": ["partner", "elsewhere", "unknown"],
         "to": [], "final": True},
        {"name": "illegal-at-home-to-police", "legal_class": ["baseline", "national"], "hosted_in": ["home"],
         "to": ["@police"]},
        {"name": "illegal-at-home-notice-to-host", "legal_class": ["baseline", "national"], "hosted_in": ["home"],
         "to": ["@host"]},
        {"name": "hosted-in-partner-country", "hosted_in": ["partner"], "to": ["@hotline"], "final": True},
        {"name": "hosted-elsewhere-to-network", "hosted_in": ["elsewhere", "unknown"], "to": ["@network"],
         "final": True},
    ]


@functools.cache
def _validator() -> SchemaValidator:
    return SchemaValidator.from_file(schema_path("config.schema.json"))


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def parse(raw: dict[str, Any], path: Path) -> Config:
    """Build a Config from the TOML document; raises ValidationError/ConfigError naming the file and field."""
    _validator().validate(raw, source=str(path))
    base = path.parent
    gw = raw["gateway"]
    problems: list[FieldProblem] = []
    partners: dict[str, Partner] = {}
    for i, p in enumerate(raw.get("partners", [])):
        where = f"$.partners[{i}]"
        if p["id"] in partners:
            problems.append(FieldProblem(f"{where}.id", f"duplicate partner id {p['id']!r}"))
        if p.get("receive_reporter") and p["kind"] in NEVER_REPORTER:
            problems.append(FieldProblem(f"{where}.receive_reporter", f"a {p['kind']} never receives reporter data"))
        transport = p.get("transport", "native-http")
        partners[p["id"]] = Partner(
            id=p["id"], kind=p["kind"], country=p.get("country"), name=p.get("name"), endpoint=p.get("endpoint"),
            format=p.get("format", "native"), transport=transport,
            keys=_resolve(base, p["keys"]) if "keys" in p else None,
            categories=frozenset(Category(c) for c in p.get("categories", list(Category))),
            tlp_max=Tlp(p.get("tlp_max", "amber")), receive_reporter=bool(p.get("receive_reporter", False)),
            may_send=bool(p.get("may_send", p["kind"] in {"hotline", "law_enforcement", "network"})),
            forward_retracted=bool(p.get("forward_retracted", False)),
            asns=frozenset(p.get("asns", [])), organisations=frozenset(p.get("organisations", [])),
            options=dict(p.get("options", {})), base=base,
        )
    routes = []
    for i, r in enumerate(raw.get("routes", default_routes(gw.get("role", "hotline")))):
        for j, dest in enumerate(r["to"]):
            if dest not in partners and dest not in SYMBOLIC_DESTINATIONS | {"@police"}:
                problems.append(FieldProblem(f"$.routes[{i}].to[{j}]", f"no partner {dest!r}"))
        routes.append(Route(
            name=r["name"], to=tuple(r["to"]), final=bool(r.get("final", False)),
            origin=frozenset(r["origin"]) if "origin" in r else None,
            category=frozenset(r["category"]) if "category" in r else None,
            legal_class=frozenset(r["legal_class"]) if "legal_class" in r else None,
            hosted_in=frozenset(r["hosted_in"]) if "hosted_in" in r else None,
        ))
    server = dict(raw.get("server", {}))
    metrics_token = None
    if "metrics_token_file" in server:
        metrics_path = _resolve(base, server.pop("metrics_token_file"))
        try:
            metrics_token = metrics_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(FieldProblem("$.server.metrics_token_file", f"cannot read {metrics_path}: {exc.strerror}"))
    limits = ServerLimits(**server, partner_body_bytes=int(gw.get("max_body_bytes", 1024 * 1024)),
                          metrics_token=metrics_token)
    token = gw.get("intake_token")
    if token is None and "intake_token_file" in gw:
        token_path = _resolve(base, gw["intake_token_file"])
        try:
            token = token_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(FieldProblem("$.gateway.intake_token_file", f"cannot read {token_path}: {exc.strerror}"))
    if problems:
        raise ValidationError(problems, source=str(path))
    host = gw.get("host", "127.0.0.1")
    port = int(gw.get("port", 8443))
    return Config(
        path=path, id=gw["id"], country=gw["country"], role=gw.get("role", "hotline"), host=host, port=port,
        public_url=gw.get("public_url", f"http://{host}:{port}"),
        data_dir=_resolve(base, gw.get("data_dir", "data")), keys_dir=_resolve(base, gw.get("keys_dir", "keys")),
        intake_token=token, max_body_bytes=int(gw.get("max_body_bytes", 1024 * 1024)),
        clock_skew_s=int(gw.get("clock_skew_s", 300)), shutdown_timeout_s=float(gw.get("shutdown_timeout_s", 10)),
        delivery=DeliverySettings(**raw.get("delivery", {})), limits=limits, partners=partners, routes=tuple(routes),
        operator_password_file=_resolve(base, gw["operator_password_file"]) if "operator_password_file" in gw else None,
        audit_checkpoint_s=float(raw.get("audit", {}).get("checkpoint_interval_s", 60.0)),
        retention=_retention(raw.get("retention", {})),
        store_url=gw.get("store"), vault_url=gw.get("vault"), node=gw.get("node") or socket.gethostname(),
        leader_lease_s=float(gw.get("leader_lease_s", 15.0)),
        raw=raw,
    )


def _retention(raw: Mapping[str, Any]) -> RetentionPolicy:
    defaults = RetentionPolicy()
    by_class = {**defaults.case_days_by_legal_class, **raw.get("case_days_by_legal_class", {})}
    return RetentionPolicy(**{**raw, "case_days_by_legal_class": by_class})


def load(path: Path | str) -> Config:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse(raw, path.resolve())
