"""LinkedIn's error bodies, raised as exceptions by handlers and rendered by the app."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

# serviceErrorCode values. LinkedIn documents 65600-65602 for tokens and 101 for throttling
# (decoration example). The others are the sandbox's choice: LinkedIn publishes no table.
GENERIC_ERROR = 100
THROTTLED = 101
INVALID_ACCESS_TOKEN = 65600
REVOKED_ACCESS_TOKEN = 65601
EXPIRED_ACCESS_TOKEN = 65602

REASONS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "ACCESS_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    411: "LENGTH_REQUIRED",
    413: "REQUEST_TOO_LARGE",
    414: "URI_TOO_LONG",
    426: "NONEXISTENT_VERSION",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class ApiError(Exception):
    """An API error, sent as `{"status", "serviceErrorCode", "code", "message"}`."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        service_error_code: int = GENERIC_ERROR,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or REASONS.get(status, "ERROR")
        self.service_error_code = service_error_code

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "serviceErrorCode": self.service_error_code,
            "code": self.code,
            "message": self.message,
        }


class OAuthError(Exception):
    """An OAuth endpoint error, sent as `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def default_error_body(status: int) -> dict[str, Any]:
    """Return the body an injected fault gets when it names a status but no body."""
    service_error_code = THROTTLED if status == 429 else GENERIC_ERROR
    message = "Resource level throttle limit for calls to this resource is reached."
    if status != 429:
        message = f"Sandbox fault: HTTP {status}"
    return ApiError(status, message, service_error_code=service_error_code).body()
