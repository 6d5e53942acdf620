"""``filedrop``: signed files in a folder, for partners with no network path to us (air-gapped
police systems, a hotline that takes a daily transfer by removable medium).

Each message becomes three files named by its message id: the payload as encoded for the partner,
its detached JWS, and a small manifest (message id, case id, format, media type, payload digest,
sender). They are written to a hidden name, synced and renamed, manifest last, so whoever collects the
folder never sees half a message: a message is there exactly when its manifest is. Writing the same
message again changes nothing (same name, same bytes). The receipt records where the files went; the
partner acknowledges out of band.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import orjson

from hotline_gateway.config import Config, Partner
from hotline_gateway.core.errors import PermanentDeliveryError, TransientDeliveryError
from hotline_gateway.core.files import atomic_write, private_dir
from hotline_gateway.core.timefmt import format_timestamp
from hotline_gateway.store.records import Delivery
from hotline_gateway.transports.base import (
    Outcome,
    TransportContext,
    TransportPlugin,
    TransportSettings,
    media_type,
    resolve,
    settings,
)


class FiledropSettings(TransportSettings):
    #: the folder the partner collects from (created owner-only when missing)
    directory: str


class FiledropTransport:
    name = "filedrop"
    max_batch = 100

    def __init__(self, ctx: TransportContext) -> None:
        self.config: Config = ctx.config

    async def send(self, partner: Partner, deliveries: list[Delivery]) -> list[Outcome]:
        folder = resolve(partner, settings(partner, FiledropSettings).directory)
        try:
            private_dir(folder)
        except OSError as exc:
            raise TransientDeliveryError(f"{partner.id}: cannot use {folder} ({exc.strerror})") from None
        return [self._one(partner, folder, d) for d in deliveries]

    def _one(self, partner: Partner, folder: Path, d: Delivery) -> Outcome:
        ext = {"xarf": "json", "stix": "json", "native": "json", "lifecycle": "json", "dsa-notice": "json",
               "iccam": "json", "iodef": "xml", "cybertip": "xml"}.get(d.format, "bin")
        manifest = {"message_id": d.message_id, "case_id": d.case_id, "sender": self.config.id,
                    "recipient": partner.id, "type": d.message_type, "format": d.format,
                    "media_type": media_type(d.format), "payload": f"{d.message_id}.{ext}",
                    "payload_sha256": d.payload_sha256, "signature": f"{d.message_id}.{ext}.jws"}
        if hashlib.sha256(d.payload).hexdigest() != d.payload_sha256:
            return Outcome(d, error=PermanentDeliveryError("payload does not match its digest", code="corrupt"))
        try:
            atomic_write(folder / f"{d.message_id}.{ext}", d.payload)
            atomic_write(folder / f"{d.message_id}.{ext}.jws", d.signature.encode("ascii"))
            atomic_write(folder / f"{d.message_id}.manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        except OSError as exc:
            return Outcome(d, error=TransientDeliveryError(f"{partner.id}: cannot write to {folder} ({exc.strerror})"))
        receipt = {"kind": "filedrop", "directory": str(folder), "manifest": f"{d.message_id}.manifest.json",
                   "written_at": format_timestamp(datetime.now(UTC))}
        return Outcome(d, receipt=orjson.dumps(receipt).decode())


PLUGIN = TransportPlugin(name="filedrop", settings=FiledropSettings, factory=FiledropTransport, needs_endpoint=False)
