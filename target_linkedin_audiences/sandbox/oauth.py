"""OAuth 2.0 endpoints: the consent page, the token endpoint and token introspection."""

from __future__ import annotations

import html
import secrets
from importlib import resources
from string import Template
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import tokens
from target_linkedin_audiences.sandbox.accounts import DEMO_FIRST_NAME, DEMO_LAST_NAME, DEMO_MEMBER_URN
from target_linkedin_audiences.sandbox.errors import OAuthError, json_response
from target_linkedin_audiences.sandbox.settings import (
    APP_NAME,
    APP_SCOPES,
    AUTHORIZATION_CODE_TTL_SECONDS,
    CLIENT_ID,
    CLIENT_SECRET,
)

if TYPE_CHECKING:
    from target_linkedin_audiences.sandbox.context import Context

SCOPE_DESCRIPTIONS = {
    "r_ads": "Read your ad accounts",
    "rw_ads": "Manage your ad accounts",
    "rw_dmp_segments": "Create and manage your matched audiences",
    "r_basicprofile": "Use your name, headline and photo",
    "r_liteprofile": "Use your name and photo",
}
LOOPBACK_REDIRECT_HOSTS = ("127.0.0.1", "localhost")


class AuthorizationPageError(Exception):
    """An error the authorization endpoint shows as a page instead of redirecting."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


def _template(name: str) -> Template:
    text = resources.files("target_linkedin_audiences.sandbox").joinpath("templates", name).read_text("utf-8")
    return Template(text)


def _html(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="text/html; charset=utf-8")


def _error_page(error: AuthorizationPageError) -> Response:
    page = _template("error.html").substitute(
        error=html.escape(error.error), description=html.escape(error.description)
    )
    return _html(page, error.status)


def _validate_authorization(values) -> tuple[str, str, list[str], str | None]:
    """Check an authorization request and return its client id, redirect URI, scopes and state."""
    for name in ("response_type", "client_id", "redirect_uri", "scope"):
        if not values.get(name):
            raise AuthorizationPageError(400, "invalid_request", f"Missing required parameter {name}")
    if values["response_type"] != "code":
        raise AuthorizationPageError(
            400, "unsupported_response_type", f"response_type must be code, not {values['response_type']!r}"
        )
    if values["client_id"] != CLIENT_ID:
        raise AuthorizationPageError(401, "invalid_client_id", f"Unknown client_id {values['client_id']!r}")

    redirect_uri = values["redirect_uri"]
    if not is_registered_redirect_uri(redirect_uri):
        raise AuthorizationPageError(
            401,
            "invalid_redirect_uri",
            f"The redirect_uri {redirect_uri!r} does not match the registered value; the sandbox app"
            " accepts http://127.0.0.1:PORT/... and http://localhost:PORT/...",
        )

    scopes = values["scope"].replace(",", " ").split()
    unknown = [scope for scope in scopes if scope not in APP_SCOPES]
    if unknown:
        raise AuthorizationPageError(
            401, "unauthorized_scope_error", f"Scope {unknown[0]!r} is not authorized for your application"
        )
    return values["client_id"], redirect_uri, scopes, values.get("state") or None


def is_registered_redirect_uri(uri: str) -> bool:
    """Return whether `uri` is an http loopback URI without a fragment, as the sandbox app registers."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in LOOPBACK_REDIRECT_HOSTS and not parts.fragment


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def show_consent(ctx: Context) -> Response:
    """`GET /oauth/v2/authorization`: the consent page with Allow and Cancel."""
    try:
        client_id, redirect_uri, scopes, state = _validate_authorization(ctx.request.args)
    except AuthorizationPageError as error:
        return _error_page(error)

    items = "\n".join(
        f'    <li data-scope="{html.escape(scope)}">{html.escape(SCOPE_DESCRIPTIONS[scope])}'
        f" (<code>{html.escape(scope)}</code>)</li>"
        for scope in scopes
    )
    page = _template("consent.html").substitute(
        app_name=html.escape(APP_NAME),
        member_name=html.escape(f"{DEMO_FIRST_NAME} {DEMO_LAST_NAME}"),
        scope_items=items,
        client_id=html.escape(client_id),
        redirect_uri=html.escape(redirect_uri),
        scope=html.escape(" ".join(scopes)),
        state=html.escape(state or ""),
    )
    return _html(page)


def decide_consent(ctx: Context) -> Response:
    """`POST /oauth/v2/authorization`: the Allow or Cancel button of the consent page."""
    try:
        client_id, redirect_uri, scopes, state = _validate_authorization(ctx.request.form)
    except AuthorizationPageError as error:
        return _error_page(error)

    state_param = {"state": state} if state else {}
    if ctx.request.form.get("decision") != "allow":
        params = {
            "error": "user_cancelled_authorize",
            "error_description": "The user cancelled the authorization",
            **state_param,
        }
        return redirect(_with_query(redirect_uri, params), code=302)

    code = secrets.token_urlsafe(48)
    ctx.db.execute(
        "INSERT INTO auth_codes (code, client_id, redirect_uri, scope, member, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (code, client_id, redirect_uri, " ".join(scopes), DEMO_MEMBER_URN, ctx.now,
         ctx.now + AUTHORIZATION_CODE_TTL_SECONDS),
    )
    return redirect(_with_query(redirect_uri, {"code": code, **state_param}), code=302)


def _form(ctx: Context, required: tuple[str, ...]) -> dict[str, str]:
    mimetype = ctx.request.mimetype
    if mimetype != "application/x-www-form-urlencoded":
        raise OAuthError(
            400, "invalid_request", f"Content-Type must be application/x-www-form-urlencoded, not {mimetype!r}"
        )
    form = ctx.request.form
    for name in required:
        if not form.get(name):
            raise OAuthError(
                400, "invalid_request", f"A required parameter \"{name}\" is missing"
            )
    return {name: form[name] for name in form}


def _check_client(form: dict[str, str]) -> None:
    if form["client_id"] != CLIENT_ID or form["client_secret"] != CLIENT_SECRET:
        raise OAuthError(401, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret")


def exchange_token(ctx: Context) -> Response:
    """`POST /oauth/v2/accessToken` for the `authorization_code` and `refresh_token` grants."""
    grant_type = _form(ctx, ("grant_type",))["grant_type"]
    if grant_type == "authorization_code":
        return json_response(_exchange_code(ctx))
    if grant_type == "refresh_token":
        return json_response(_exchange_refresh_token(ctx))
    raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")


def _exchange_code(ctx: Context) -> dict:
    form = _form(ctx, ("grant_type", "code", "client_id", "client_secret", "redirect_uri"))
    _check_client(form)

    row = ctx.db.execute("SELECT * FROM auth_codes WHERE code = ?", (form["code"],)).fetchone()
    if row is None or row["used"]:
        raise OAuthError(401, "invalid_request", "Unable to retrieve access token: authorization code not found")
    if row["redirect_uri"] != form["redirect_uri"] or row["client_id"] != form["client_id"]:
        raise OAuthError(
            400, "invalid_redirect_uri",
            "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code",
        )
    if ctx.now >= row["expires_at"]:
        raise OAuthError(
            400, "invalid_redirect_uri", "Unable to retrieve access token: authorization code expired"
        )

    ctx.db.execute("UPDATE auth_codes SET used = 1 WHERE code = ?", (form["code"],))
    return tokens.issue_tokens(
        ctx.db,
        ctx.settings.access_token_ttl_seconds,
        ctx.settings.refresh_token_ttl_seconds,
        scope=row["scope"],
        member=row["member"],
        client_id=row["client_id"],
    )


def _exchange_refresh_token(ctx: Context) -> dict:
    form = _form(ctx, ("grant_type", "refresh_token", "client_id", "client_secret"))
    _check_client(form)

    # NOTE: LinkedIn documents invalid_request for a bad refresh token, while production
    # connectors report invalid_grant. The sandbox returns invalid_request, and clients should
    # treat both as final.
    row = tokens.find_token(ctx.db, form["refresh_token"])
    if row is None or row["kind"] != "refresh" or row["client_id"] != form["client_id"]:
        raise OAuthError(400, "invalid_request", "The provided refresh token is invalid")
    status = tokens.token_status(ctx.db, row)
    if status != "active":
        raise OAuthError(400, "invalid_request", f"The provided refresh token is {status}")
    return tokens.refresh_access_token(ctx.db, row, ctx.settings.access_token_ttl_seconds)


def introspect_token(ctx: Context) -> Response:
    """`POST /oauth/v2/introspectToken`: whether an access or refresh token is usable."""
    form = _form(ctx, ("client_id", "client_secret", "token"))
    if form["client_id"] != CLIENT_ID:
        raise OAuthError(400, "invalid_request", f"Unknown client_id {form['client_id']!r}")
    if form["client_secret"] != CLIENT_SECRET:
        raise OAuthError(401, "invalid_client", "Client authentication failed: wrong client_secret")

    row = tokens.find_token(ctx.db, form["token"])
    if row is None:
        raise OAuthError(400, "invalid_request", "The token is invalid")
    if row["client_id"] != form["client_id"]:
        return json_response({"active": False})

    status = tokens.token_status(ctx.db, row)
    return json_response({
        "active": status == "active",
        "status": status,
        "scope": ",".join(row["scope"].split()),
        "client_id": row["client_id"],
        "created_at": int(row["created_at"]),
        "expires_at": int(row["expires_at"]),
        "authorized_at": int(row["authorized_at"]),
        "auth_type": "3L",
    })

