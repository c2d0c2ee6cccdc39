"""Record validation against the stream's JSON schema, compiled once, with value-free errors.

singer-sdk's default validator raises `InvalidRecord` carrying the whole record, and its messages
quote the failing value. This one compiles the schema with fastjsonschema and keeps only the
property path and the failed rule, so a plaintext email can never reach a log line.
"""

from __future__ import annotations

import logging
import typing as t

import fastjsonschema
import jsonschema
from singer_sdk.sinks.core import BaseJSONSchemaValidator

logger = logging.getLogger(__name__)


class RecordValidator(BaseJSONSchemaValidator):
    """Validate records and remember the last failure instead of raising.

    The sink reads `last_error` right after validation and turns a failure into a counted skip
    with a reject-file entry, so one bad record never ends the run or loses other records.
    """

    def __init__(self, schema: dict[str, t.Any]) -> None:
        super().__init__(schema)
        self.last_error: str | None = None
        self._fast: t.Callable[[t.Any], t.Any] | None = None
        self._fallback: jsonschema.protocols.Validator | None = None
        try:
            # Formats stay unchecked (as singer-sdk does by default) and defaults are not filled in.
            self._fast = fastjsonschema.compile(schema, use_default=False, use_formats=False)
        except (fastjsonschema.JsonSchemaDefinitionException, ValueError, TypeError, RecursionError):
            logger.warning("The stream schema does not compile with fastjsonschema; using jsonschema instead")
            validator_class = jsonschema.validators.validator_for(schema)
            self._fallback = validator_class(schema, format_checker=None)

    def validate(self, record: dict[str, t.Any]) -> None:
        self.last_error = None
        if self._fast is not None:
            try:
                self._fast(record)
            except fastjsonschema.JsonSchemaValueException as exc:
                self.last_error = f"{_path_from_name(exc.name)} fails schema rule '{exc.rule}'"
            return

        assert self._fallback is not None  # set whenever the fast validator is not
        error = jsonschema.exceptions.best_match(self._fallback.iter_errors(record))
        if error is not None:
            path = ".".join(str(part) for part in error.absolute_path) or "(record)"
            self.last_error = f"{path} fails schema rule '{error.validator}'"


def _path_from_name(name: str) -> str:
    # fastjsonschema names the failing node "data.Email" or "data[2]"; "data" is the record itself.
    if name == "data":
        return "(record)"
    return name.removeprefix("data.").removeprefix("data")
