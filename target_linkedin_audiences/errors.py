"""Typed errors for LinkedIn API and OAuth failures, mapped from HTTP status and error codes.

Messages never contain a token, an email or a name. LinkedIn's own `message` text is kept only
after `scrub_text` has masked anything that looks like an email address.
"""

from __future__ import annotations

import re
import typing as t

if t.TYPE_CHECKING:
    import requests

# Process exit codes of the target and the admin CLI. Documented in the README.
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_API = 4
EXIT_INPUT = 5
EXIT_REMOVAL_GUARD = 6
EXIT_INTERRUPTED = 130

_EMAIL_PATTERN = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+")
# Headers LinkedIn's docs request in reports of a server error.
_TRACE_HEADERS = ("x-li-uuid", "x-li-request-id", "x-li-fabric")


def scrub_text(text: str, limit: int = 300) -> str:
    """Mask email-like substrings and cut `text` to `limit` characters for safe logging."""
    masked = _EMAIL_PATTERN.sub("[email]", text)
    if len(masked) > limit:
        return masked[:limit] + "..."
    return masked


class TargetError(Exception):
    """Base class for failures that end a run with a message and an exit code."""

    exit_code = EXIT_FAILED


class ConfigError(TargetError):
    """Invalid or missing configuration."""

    exit_code = EXIT_CONFIG


class RemovalGuardError(TargetError):
    """Mirror sync would remove more of a segment than `max_removal_fraction` allows."""

    exit_code = EXIT_REMOVAL_GUARD


class LinkedInError(TargetError):
    """An error response from the LinkedIn API, or a transport failure talking to it."""

    exit_code = EXIT_API
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        service_error_code: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
        trace: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.service_error_code = service_error_code
        self.code = code
        self.method = method
        self.path = path
        self.trace = trace or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.method and self.path:
            parts.append(f"({self.method} {self.path}")
            parts[-1] += f" -> {self.status})" if self.status else ")"
        if self.trace:
            parts.append(" ".join(f"{key}={value}" for key, value in sorted(self.trace.items())))
        return " ".join(parts)


class TransportError(LinkedInError):
    """A timeout, refused or dropped connection: no HTTP response arrived."""

    retryable = True


class BadRequestError(LinkedInError):
    """400: LinkedIn rejected the request as malformed."""


class AuthenticationError(LinkedInError):
    """401: the access token is missing, invalid, expired or revoked."""

    exit_code = EXIT_AUTH


class InvalidTokenError(AuthenticationError):
    """401 with serviceErrorCode 65600: LinkedIn does not recognise the access token."""


class TokenRevokedError(AuthenticationError):
    """401 with serviceErrorCode 65601: the member or LinkedIn revoked the access token."""


class TokenExpiredError(AuthenticationError):
    """401 with serviceErrorCode 65602: the access token has expired."""


class RefreshTokenError(AuthenticationError):
    """The OAuth server rejected the refresh token, so the member must sign in again."""


class PermissionDeniedError(LinkedInError):
    """403: the token lacks a scope, or the member's ad account role cannot do this."""

    exit_code = EXIT_AUTH


class NotFoundError(LinkedInError):
    """404: the entity does not exist, or a new DMP segment is not visible yet."""


class ConflictError(LinkedInError):
    """409: a concurrent request created the same entity."""


class UnsupportedVersionError(LinkedInError):
    """426: the `LinkedIn-Version` header names a version that is sunset or unknown."""

    exit_code = EXIT_CONFIG


class RateLimitError(LinkedInError):
    """429: a per-minute or daily throttle was hit; retried after a wait."""

    retryable = True


class SegmentLimitExceededError(LinkedInError):
    """429 `SEGMENT_LIMIT_EXCEEDED`: the ad account already has 1,000 DMP segments."""


class ServerError(LinkedInError):
    """5xx: a LinkedIn-side failure; retried with backoff."""

    retryable = True


_BY_STATUS: dict[int, type[LinkedInError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    426: UnsupportedVersionError,
    429: RateLimitError,
}
_BY_SERVICE_ERROR_CODE: dict[int, type[AuthenticationError]] = {
    65600: InvalidTokenError,
    65601: TokenRevokedError,
    65602: TokenExpiredError,
}


def parse_retry_after(value: str | None) -> float | None:
    """Parse a `Retry-After` header given in seconds; HTTP dates fall back to backoff."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


def error_from_response(response: requests.Response) -> LinkedInError:
    """Build the typed error for a non-2xx API response."""
    status = response.status_code
    body: dict[str, t.Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass

    service_error_code = body.get("serviceErrorCode")
    if not isinstance(service_error_code, int):
        service_error_code = None
    code = body.get("code") if isinstance(body.get("code"), str) else None
    remote_message = body.get("message") if isinstance(body.get("message"), str) else ""

    if status == 429 and code == "SEGMENT_LIMIT_EXCEEDED":
        error_class: type[LinkedInError] = SegmentLimitExceededError
    elif status == 401 and service_error_code in _BY_SERVICE_ERROR_CODE:
        error_class = _BY_SERVICE_ERROR_CODE[service_error_code]
    elif status >= 500:
        error_class = ServerError
    else:
        error_class = _BY_STATUS.get(status, LinkedInError)

    message = f"LinkedIn returned HTTP {status}"
    if code:
        message += f" {code}"
    if service_error_code:
        message += f" (serviceErrorCode {service_error_code})"
    if remote_message:
        message += f": {scrub_text(remote_message)}"
    if error_class is UnsupportedVersionError:
        message += "; set api_version to an active LinkedIn-Version (YYYYMM)"
    elif issubclass(error_class, AuthenticationError):
        message += "; if it persists, run `linkedin-audiences auth login` to sign in again"

    trace = {name: response.headers[name] for name in _TRACE_HEADERS if name in response.headers}
    request = response.request
    return error_class(
        message,
        status=status,
        service_error_code=service_error_code,
        code=code,
        method=request.method if request is not None else None,
        path=_path_without_query(request.url) if request is not None and request.url else None,
        trace=trace,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def _path_without_query(url: str) -> str:
    # Query strings can carry account URNs but never tokens; the path is enough to locate a call.
    path = url.split("?", 1)[0]
    scheme_end = path.find("://")
    if scheme_end != -1:
        slash = path.find("/", scheme_end + 3)
        path = path[slash:] if slash != -1 else "/"
    return path
