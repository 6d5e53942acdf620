"""``taxii``: the partner pulls. Its collection on our TAXII 2.1 server (``api/taxii.py``) is the STIX
its routing queued; no delivery lane pushes to it. These are its settings."""

from __future__ import annotations

from hotline_gateway.config import Partner
from hotline_gateway.core.errors import ConfigError
from hotline_gateway.transports.base import TransportPlugin, TransportSettings, resolve


class TaxiiSettings(TransportSettings):
    #: the partner's HTTP Basic password (its user name is its partner id), or a file holding it
    taxii_password: str | None = None
    taxii_password_file: str | None = None
    #: whether the partner may add objects to its collection (they come in as its cases)
    taxii_write: bool = False

    def secret(self, partner: Partner) -> str | None:
        if self.taxii_password is not None or self.taxii_password_file is None:
            return self.taxii_password
        path = resolve(partner, self.taxii_password_file)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{partner.id}: cannot read taxii_password_file {path}: {exc.strerror}") from None


PLUGIN = TransportPlugin(name="taxii", settings=TaxiiSettings, factory=None, needs_endpoint=False)
