"""The per-request context handed to every sandbox handler."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson
from werkzeug.wrappers import Request

from target_linkedin_audiences.sandbox.errors import ApiError
from target_linkedin_audiences.sandbox.settings import SandboxSettings
from target_linkedin_audiences.sandbox.tokens import Caller


@dataclass
class Context:
    """A request with its database transaction, settings, raw query values and caller."""

    request: Request
    db: sqlite3.Connection
    settings: SandboxSettings
    params: dict[str, str]
    now: float
    caller: Caller | None = None
    # Set by handlers whose body must not be logged verbatim (CSV uploads).
    log_body: Any = None

    def json_body(self) -> Any:
        """Parse the JSON request body or raise LinkedIn's 400."""
        data = self.request.get_data(cache=True)
        if not data:
            raise ApiError(400, "The request body is empty; send a JSON object")
        # orjson parses a 5,000-element body several times faster than json. It accepts only
        # UTF-8 and strict JSON, so whatever it refuses goes to json, whose result or error the
        # caller gets as before.
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        try:
            return json.loads(data)
        except ValueError as error:
            raise ApiError(400, f"The request body is not valid JSON: {error}") from None

    @property
    def member(self) -> str:
        assert self.caller is not None, "handler of an unauthenticated route asked for the member"
        return self.caller.member
