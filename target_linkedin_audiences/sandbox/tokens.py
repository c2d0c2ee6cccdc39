"""Access and refresh tokens: issuing, looking up, and checking a request's bearer token."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from werkzeug.wrappers import Request

from target_linkedin_audiences.sandbox import store
from target_linkedin_audiences.sandbox.accounts import DEMO_MEMBER_URN
from target_linkedin_audiences.sandbox.errors import (
    EXPIRED_ACCESS_TOKEN,
    INVALID_ACCESS_TOKEN,
    REVOKED_ACCESS_TOKEN,
    ApiError,
)
from target_linkedin_audiences.sandbox.settings import CLIENT_ID, DEFAULT_SCOPES


@dataclass(frozen=True)
class Caller:
    """The member and scopes behind a valid access token."""

    member: str
    scopes: frozenset[str]


def _new_token(prefix: str) -> str:
    # LinkedIn's tokens are about 500 characters today; clients must store at least 1,000.
    return prefix + secrets.token_urlsafe(372)


def issue_tokens(
    db: sqlite3.Connection,
    access_ttl: int,
    refresh_ttl: int,
    scope: str | None = None,
    member: str = DEMO_MEMBER_URN,
    client_id: str = CLIENT_ID,
) -> dict:
    """Store a new access and refresh token pair and return the token endpoint's JSON."""
    issued_at = store.now(db)
    scope = scope or " ".join(DEFAULT_SCOPES)
    access_token = _new_token("AQV")
    refresh_token = _new_token("AQX")
    rows = [
        (access_token, "access", issued_at + access_ttl),
        (refresh_token, "refresh", issued_at + refresh_ttl),
    ]
    for token, kind, expires_at in rows:
        db.execute(
            "INSERT INTO tokens (token, kind, client_id, member, scope, created_at, expires_at,"
            " authorized_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token, kind, client_id, member, scope, issued_at, expires_at, issued_at),
        )
    return {
        "access_token": access_token,
        "expires_in": int(access_ttl),
        "refresh_token": refresh_token,
        "refresh_token_expires_in": int(refresh_ttl),
        "scope": scope,
    }


def refresh_access_token(db: sqlite3.Connection, refresh_row: sqlite3.Row, access_ttl: int) -> dict:
    """Issue a new access token from a valid refresh token, which keeps its own expiry.

    The access token never outlives the refresh token, as LinkedIn documents (refreshing on
    day 360 of 365 gives both tokens 5 days).
    """
    issued_at = store.now(db)
    expires_at = min(issued_at + access_ttl, refresh_row["expires_at"])
    access_token = _new_token("AQV")
    db.execute(
        "INSERT INTO tokens (token, kind, client_id, member, scope, created_at, expires_at,"
        " authorized_at) VALUES (?, 'access', ?, ?, ?, ?, ?, ?)",
        (
            access_token,
            refresh_row["client_id"],
            refresh_row["member"],
            refresh_row["scope"],
            issued_at,
            expires_at,
            refresh_row["authorized_at"],
        ),
    )
    return {
        "access_token": access_token,
        "expires_in": int(expires_at - issued_at),
        "refresh_token": refresh_row["token"],
        "refresh_token_expires_in": int(refresh_row["expires_at"] - issued_at),
        "scope": refresh_row["scope"],
    }


def find_token(db: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    return db.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()


def token_status(db: sqlite3.Connection, row: sqlite3.Row) -> str:
    """Return `active`, `expired` or `revoked`, the statuses of LinkedIn's introspection."""
    if row["revoked"]:
        return "revoked"
    if store.now(db) >= row["expires_at"]:
        return "expired"
    return "active"


def authenticate(db: sqlite3.Connection, request: Request) -> Caller:
    """Check the request's bearer token and return its member, or raise LinkedIn's 401."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise ApiError(401, "Empty oauth2_access_token", code="EMPTY_ACCESS_TOKEN", service_error_code=401)

    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise ApiError(
            401, "Unknown authentication scheme; send Authorization: Bearer <token>",
            code="INVALID_ACCESS_TOKEN", service_error_code=INVALID_ACCESS_TOKEN,
        )
    if not token:
        raise ApiError(401, "Empty oauth2_access_token", code="EMPTY_ACCESS_TOKEN", service_error_code=401)

    row = find_token(db, token)
    # NOTE: LinkedIn's `code` string for 65600 is not documented; INVALID_ACCESS_TOKEN is a guess.
    if row is None or row["kind"] != "access":
        raise ApiError(
            401, "Invalid access token", code="INVALID_ACCESS_TOKEN",
            service_error_code=INVALID_ACCESS_TOKEN,
        )

    status = token_status(db, row)
    if status == "revoked":
        raise ApiError(
            401, "The token used in the request has been revoked by the user",
            code="REVOKED_ACCESS_TOKEN", service_error_code=REVOKED_ACCESS_TOKEN,
        )
    if status == "expired":
        raise ApiError(
            401, "The token used in the request has expired",
            code="EXPIRED_ACCESS_TOKEN", service_error_code=EXPIRED_ACCESS_TOKEN,
        )
    return Caller(member=row["member"], scopes=frozenset(row["scope"].replace(",", " ").split()))


def require_scope(caller: Caller, any_of: tuple[str, ...], resource: str) -> None:
    """Raise LinkedIn's 403 unless the token carries one of `any_of`."""
    if caller.scopes.isdisjoint(any_of):
        raise ApiError(
            403,
            f"Not enough permissions to access: {resource}. The token needs one of the scopes"
            f" {', '.join(any_of)}",
            code="ACCESS_DENIED",
        )
