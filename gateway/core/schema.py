"""Schema validation: a Rust validator on the hot path, and jsonschema to explain a failure in full.

jsonschema-rs checks a 3 KB case more than a hundred times faster than pure-Python jsonschema, so
every valid document pays only for the fast check; only a rejected one pays for the explanation,
which lists every bad field path at once so that a sender can fix them all in one go.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from hotline_gateway.core.deferral import defer_if_on_loop
from hotline_gateway.core.errors import FieldProblem, ValidationError
from hotline_gateway.core.jsonpath import json_path
from hotline_gateway.core.model import Case, dump_case
from hotline_gateway.schemas import path as schema_path

if TYPE_CHECKING:
    import jsonschema

_REQUIRED = re.compile(r"^'(.+)' is a required property$")
#: a refusal explains at most this many errors: explaining costs pure-Python time, and a hostile
#: document can hold millions of mistakes; the sender fixes these and learns of the next ones
MAX_EXPLAINED = 50


def prepare_explanations() -> None:
    """Import the explaining validator ahead of the first refusal: a cold import of jsonschema takes
    seconds, which the first sender refused after start-up would otherwise wait (and time out on)."""
    import jsonschema  # noqa: F401


def _problem(error: jsonschema.ValidationError) -> FieldProblem:
    import jsonschema  # imported only to explain a failure (see SchemaValidator)

    # "one of these fields" (an item's url or its hashes): name them all, not the first alternative
    if error.validator == "anyOf" and error.context and all(e.validator == "required" for e in error.context):
        names = [m.group(1) for e in error.context if (m := _REQUIRED.match(e.message))]
        return FieldProblem(json_path(list(error.absolute_path)), f"needs one of: {', '.join(names)}")
    # oneOf/anyOf failures say little on their own; the closest sub-error says what to fix.
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None and len(best.absolute_path) >= len(error.absolute_path):
            error = best
    path = list(error.absolute_path)
    if error.validator == "required" and (missing := _REQUIRED.match(error.message)):
        return FieldProblem(json_path([*path, missing.group(1)]), "is required")
    if error.validator == "not" and isinstance(error.validator_value, dict) and "anyOf" in error.validator_value:
        return FieldProblem(json_path(path), "carries a field not allowed here")
    if error.validator == "pattern" and isinstance(error.schema, dict) and "description" in error.schema:
        # a pattern means nothing to a sender; the definition's description says what is wanted
        return FieldProblem(json_path(path), f"is not valid: must be {error.schema['description']}"[:300])
    return FieldProblem(json_path(path), error.message[:300])


class SchemaValidator:
    """Validates documents against one JSON Schema (draft 2020-12); raises, never returns a bool."""

    def __init__(self, schema: dict[str, Any], *, name: str) -> None:
        self.name = name
        self._schema = schema
        self._fast = jsonschema_rs.validator_for(schema, validate_formats=True)
        self._explainer: jsonschema.Draft202012Validator | None = None

    def _explain(self) -> jsonschema.Draft202012Validator:
        """Pure-Python jsonschema, built (and imported: with its optional format checkers it costs more than
        a second) only when a document fails and must be explained."""
        if self._explainer is None:
            import jsonschema

            self._explainer = jsonschema.Draft202012Validator(
                self._schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
        return self._explainer

    @classmethod
    def from_file(cls, file: Path, *, definition: str | None = None) -> SchemaValidator:
        """Load a schema file; ``definition`` picks one of its ``$defs`` as the root instead."""
        schema = json.loads(file.read_text(encoding="utf-8"))
        if definition is not None:
            schema = copy.deepcopy(schema)
            schema["$ref"] = f"#/$defs/{definition}"
        return cls(schema, name=definition or file.name)

    def problems(self, doc: Any) -> list[FieldProblem]:
        if self._fast.is_valid(doc):
            return []
        defer_if_on_loop()  # the explanation is pure-Python work: not on the event loop
        by_path: dict[str, list[str]] = {}
        errors = itertools.islice(self._explain().iter_errors(doc), MAX_EXPLAINED)
        for p in sorted({_problem(e) for e in errors}, key=lambda p: (p.path, p.message)):
            by_path.setdefault(p.path, []).append(p.message)
        problems = [FieldProblem(path, "; ".join(messages)) for path, messages in by_path.items()]
        # The two validators can disagree on formats; the fast one is authoritative for "invalid".
        return problems or [FieldProblem("$", "does not match the schema")]

    def validate(self, doc: Any, *, source: str | None = None) -> None:
        problems = self.problems(doc)
        if problems:
            raise ValidationError(problems, source=source)


@functools.cache
def case_validator() -> SchemaValidator:
    return SchemaValidator.from_file(schema_path("case.schema.json"))


@functools.cache
def message_validator() -> SchemaValidator:
    return SchemaValidator.from_file(schema_path("case.schema.json"), definition="Message")


def validate_case_document(doc: Any, *, source: str | None = None) -> None:
    """Check canonical case JSON; raises ValidationError naming every bad field path."""
    case_validator().validate(doc, source=source)


def validate_case(case: Case, *, source: str | None = None) -> dict[str, Any]:
    """Check a decoded case: whatever adapter produced it, it must be a valid canonical case. Returns its
    canonical JSON, so the caller need not serialise it again."""
    doc = dump_case(case)
    validate_case_document(doc, source=source)
    return doc


@functools.cache
def lifecycle_validator() -> SchemaValidator:
    """A retraction or correction as its originator sends it (``$defs/Lifecycle``)."""
    return SchemaValidator.from_file(schema_path("case.schema.json"), definition="Lifecycle")


@functools.cache
def retract_request_validator() -> SchemaValidator:
    return SchemaValidator.from_file(schema_path("case.schema.json"), definition="RetractRequest")


@functools.cache
def correct_request_validator() -> SchemaValidator:
    return SchemaValidator.from_file(schema_path("case.schema.json"), definition="CorrectRequest")


@functools.cache
def envelope_validator() -> SchemaValidator:
    """A batch of messages as partners POST it: ``{"messages": [Message, ...]}``."""
    schema = json.loads(schema_path("case.schema.json").read_text(encoding="utf-8"))
    envelope = {
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "type": "object",
        "additionalProperties": False,
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "minItems": 1, "maxItems": 1000,
                                    "items": {"$ref": "#/$defs/Message"}}},
    }
    return SchemaValidator(envelope, name="envelope")


@functools.cache
def actions_validator() -> SchemaValidator:
    """What the local case system sends to report takedown progress: ``{"actions": [{item_id, ...Action}]}``."""
    schema = json.loads(schema_path("case.schema.json").read_text(encoding="utf-8"))
    action = dict(schema["$defs"]["Action"])
    item_action = {**action, "properties": {**action["properties"], "item_id": {"$ref": "#/$defs/Uuid"}},
                   "required": [*action["required"], "item_id"]}
    doc = {
        "$schema": schema["$schema"],
        "$defs": schema["$defs"],
        "type": "object",
        "additionalProperties": False,
        "required": ["actions"],
        "properties": {"actions": {"type": "array", "minItems": 1, "maxItems": 1000, "items": item_action}},
    }
    return SchemaValidator(doc, name="actions")
