"""One exception tree for the whole gateway, mapped to HTTP and CLI answers at the boundaries.

    GatewayError                      code, http_status, exit_code
    ├── BadInput                      the caller sent something we cannot accept (exit 2)
    │   ├── ValidationError           schema violations, every bad JSON path at once (422)
    │   ├── DecodeError               bytes an adapter cannot turn into cases (422)
    │   ├── ConfigError               a configuration file or option is wrong
    │   ├── KeyFileError              a key file is malformed or unreadable
    │   │   └── InsecureKeyFile       a private key readable by group or world
    │   ├── InsecureFile              a store (or other private file) readable by group or world
    │   ├── PayloadTooLarge (413) / UnsupportedMediaType (415) / NotAcceptable (406) / MediaRefused (422)
    │   ├── EncodeError               the target format cannot carry this case (exit 1)
    │   └── Conflict (409)            contradicts what is stored (an item already retracted)
    ├── NotAuthorised (403)           authenticated, but this party may not do this
    ├── VerificationError             provenance could not be proven (401 unless noted)
    │   ├── UnknownKey / KeyNotYetValid / KeyExpired
    │   ├── BadSignature / MalformedSignature / MissingSignature
    │   ├── DigestMismatch (400)
    │   └── Replay                    too old, from the future, or a nonce seen before
    ├── DeliveryError
    │   ├── TransientDeliveryError    retry later (network down, 5xx, 429)
    │   │   └── Congested             429, 503 or a timeout: fewer batches in flight
    │   └── PermanentDeliveryError    retrying cannot help: dead-letter with the reason
    ├── StoreError                    the durable store failed
    │   └── LifecycleRace             a retraction planned from a state that changed: plan again
    └── NotFound (404)
Verification raises; nothing in the gateway answers "is it valid?" with a bool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code = "gateway_error"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadInput(GatewayError):
    code = "bad_input"
    http_status = 400
    exit_code = 2


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad field: where it is (a JSON path such as ``$.items[0].hashes[1].value``) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ValidationError(BadInput):
    code = "schema_violation"
    http_status = 422

    def __init__(self, problems: Sequence[FieldProblem], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(str(p) for p in self.problems))


class DecodeError(BadInput):
    """Raised by adapters only; ``path`` names the place in the input (field path or line)."""

    code = "decode_error"
    http_status = 422

    def __init__(self, message: str, *, path: str = "$", fmt: str = "") -> None:
        self.path = path
        self.fmt = fmt
        prefix = f"{fmt} " if fmt else ""
        super().__init__(f"{prefix}{path}: {message}")


class EncodeError(BadInput):
    code = "cannot_encode"
    http_status = 422
    exit_code = 1


class ConfigError(BadInput):
    code = "config_error"


class KeyFileError(BadInput):
    code = "key_file_error"


class InsecureKeyFile(KeyFileError):
    code = "insecure_key_file"


class InsecureFile(BadInput):
    """A file or folder holding personal data or secrets that other users could read."""

    code = "insecure_file"


class PayloadTooLarge(BadInput):
    code = "payload_too_large"
    http_status = 413


class UnsupportedMediaType(BadInput):
    code = "unsupported_media_type"
    http_status = 415


class NotAcceptable(BadInput):
    """The client accepts no media type we can answer in."""

    code = "not_acceptable"
    http_status = 406




class MediaRefused(BadInput):
    """The gateway never accepts media bytes, only URLs, hashes and metadata."""

    code = "media_refused"
    http_status = 422


class NotAuthorised(GatewayError):
    """The caller proved who it is, but may not do this (authenticated is not authorised)."""

    code = "not_authorised"
    http_status = 403


#: the name TAXII's handlers use for the same thing
Forbidden = NotAuthorised


class VerificationError(GatewayError):
    code = "verification_failed"
    http_status = 401
    exit_code = 1


class UnknownKey(VerificationError):
    code = "unknown_key"


class KeyNotYetValid(VerificationError):
    code = "key_not_yet_valid"


class KeyExpired(VerificationError):
    code = "key_expired"


class BadSignature(VerificationError):
    code = "bad_signature"


class MalformedSignature(VerificationError):
    code = "malformed_signature"


class MissingSignature(VerificationError):
    code = "missing_signature"


class DigestMismatch(VerificationError):
    code = "digest_mismatch"
    http_status = 400


class Replay(VerificationError):
    code = "replay"


class DeliveryError(GatewayError):
    code = "delivery_failed"
    http_status = 502


class TransientDeliveryError(DeliveryError):
    code = "delivery_transient"


class Congested(TransientDeliveryError):
    """The partner says, or shows, that it cannot keep up (429, 503, a timeout): send less at once."""

    code = "partner_congested"


class PermanentDeliveryError(DeliveryError):
    code = "delivery_permanent"


class StoreError(GatewayError):
    code = "store_error"
    http_status = 503


class NotFound(GatewayError):
    code = "not_found"
    http_status = 404


class LifecycleRace(StoreError):
    """A retraction or correction was planned from a state that changed before it could be committed (the
    case was updated, or a message it meant to cancel was claimed): nothing was written; plan again."""

    code = "lifecycle_race"


class Conflict(BadInput):
    """The request contradicts what is stored (an item already retracted, a correction that changes nothing)."""

    code = "conflict"
    http_status = 409
