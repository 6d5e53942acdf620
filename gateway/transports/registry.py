"""Transports by name, found through the ``hotline_gateway.transports`` entry points, and the typed
settings of every partner checked against its transport when a configuration is loaded."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from importlib.metadata import entry_points
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from hotline_gateway import config as config_mod
from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import ConfigError, FieldProblem, ValidationError
from hotline_gateway.transports.base import HttpSettings, Transport, TransportContext, TransportPlugin

GROUP = "hotline_gateway.transports"
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")


@functools.cache
def plugins() -> dict[str, TransportPlugin]:
    found: dict[str, TransportPlugin] = {}
    for ep in entry_points(group=GROUP):
        plugin = ep.load()
        if not isinstance(plugin, TransportPlugin):
            raise ConfigError(f"entry point {ep.name!r} does not provide a transport plug-in")
        found[ep.name] = plugin
    return found


def _loopback(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(index: int, partner: Partner, plugin: TransportPlugin) -> tuple[object | None, list[FieldProblem]]:
    where = f"$.partners[{index}]"
    problems: list[FieldProblem] = []
    try:
        typed = msgspec.convert(dict(partner.options), plugin.settings, strict=True)
    except msgspec.ValidationError as exc:
        match = _AT.match(str(exc))
        message = match.group("message") if match else str(exc)
        path = f"{where}.options{match.group('path') or ''}" if match else f"{where}.options"
        return None, [FieldProblem(path, f"{partner.id} ({partner.transport}): {message}")]
    if plugin.needs_endpoint and not partner.endpoint:
        problems.append(FieldProblem(f"{where}.endpoint", f"is required for transport {partner.transport}"))
    if partner.endpoint:
        scheme = urlsplit(partner.endpoint).scheme
        insecure = scheme == "http" and isinstance(typed, HttpSettings) and typed.allow_insecure_http
        if scheme not in plugin.schemes and not (insecure and _loopback(partner.endpoint)):
            allowed = " or ".join(plugin.schemes)
            problems.append(FieldProblem(f"{where}.endpoint", f"must be {allowed} for transport {partner.transport}"
                                         + (" (options.allow_insecure_http allows http:// on loopback only)"
                                            if scheme == "http" else "")))
    if plugin.needs_keys and partner.keys is None:
        problems.append(FieldProblem(f"{where}.keys", f"is required for transport {partner.transport}: answers "
                                     "and receipts are verified with the partner's keys"))
    return typed, problems


def with_settings(config: Config) -> Config:
    """``config`` with each partner's typed settings; ``ValidationError`` naming the file, the partner's
    path and the key for an unknown transport, an unknown option, a wrong type or a missing endpoint."""
    if all(p.settings is not None for p in config.partners.values()):
        return config
    known = plugins()
    problems: list[FieldProblem] = []
    partners: dict[str, Partner] = {}
    for index, partner in enumerate(config.partners.values()):
        plugin = known.get(partner.transport)
        if plugin is None:
            names = ", ".join(sorted(known))
            problems.append(FieldProblem(f"$.partners[{index}].transport",
                                         f"unknown transport {partner.transport!r} (known: {names})"))
            continue
        typed, found = _check(index, partner, plugin)
        problems += found
        partners[partner.id] = dataclasses.replace(partner, settings=typed)
    if problems:
        raise ValidationError(problems, source=str(config.path))
    return dataclasses.replace(config, partners=partners)


def load(path: str | Path) -> Config:
    """Load a configuration and check every partner's transport settings."""
    return with_settings(config_mod.load(path))


def build(ctx: TransportContext) -> dict[str, Transport]:
    """One instance of each push transport the configured partners use."""
    used = {p.transport for p in ctx.config.partners.values()}
    out: dict[str, Transport] = {}
    for name in sorted(used):
        factory = plugins()[name].factory
        if factory is not None:
            out[name] = factory(ctx)
    return out


def is_pull(transport: str) -> bool:
    plugin = plugins().get(transport)
    return plugin is not None and plugin.factory is None
