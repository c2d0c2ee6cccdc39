"""OAuth 2.0 token endpoint calls and the in-process access token holder.

LinkedIn's Marketing APIs use the 3-legged authorization-code flow. The token endpoint takes the
client credentials in the form body (`POST /oauth/v2/accessToken`), and refreshing returns a new
access token with the same refresh token, whose lifetime keeps counting down from the original
consent.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import typing as t

import backoff
import requests

from target_linkedin_audiences.errors import (
    AuthenticationError,
    RefreshTokenError,
    TransportError,
    scrub_text,
)

logger = logging.getLogger(__name__)

LOGIN_HINT = "run `linkedin-audiences auth login` to sign in again"
# Attempts of one token endpoint call when the OAuth server sends no response or a 5xx.
OAUTH_MAX_ATTEMPTS = 4
# Scopes of the consent flow: ad accounts, DMP segments, and the profile for the `/v2/me` heartbeat.
DEFAULT_SCOPES = ("r_ads", "rw_dmp_segments", "r_basicprofile")
REQUIRED_SCOPE = "rw_dmp_segments"
# Refresh before a run when the access token expires within this window, in seconds.
DEFAULT_REFRESH_WINDOW_SECONDS = 3600
# Warn when the refresh token expires within this many days: only a new consent extends it.
REFRESH_TOKEN_WARNING_DAYS = 30
# OAuth error codes that mean the refresh token is dead: LinkedIn's docs name `invalid_request`
# for an invalid, expired or revoked refresh token, and production connectors see `invalid_grant`.
TERMINAL_REFRESH_ERRORS = frozenset({"invalid_grant", "invalid_request"})


@dataclasses.dataclass
class TokenSet:
    """Access and refresh tokens with their expiry times in epoch seconds."""

    access_token: str
    refresh_token: str | None = None
    access_token_expires_at: float | None = None
    refresh_token_expires_at: float | None = None
    scope: str | None = None

    def __repr__(self) -> str:
        # Dataclass reprs end up in tracebacks and debug logs, so the token strings stay out.
        return (
            "TokenSet(access_token=[redacted], refresh_token="
            f"{'[redacted]' if self.refresh_token else None}, "
            f"access_token_expires_at={self.access_token_expires_at}, "
            f"refresh_token_expires_at={self.refresh_token_expires_at}, scope={self.scope!r})"
        )

    @classmethod
    def from_token_response(cls, body: t.Mapping[str, t.Any], now: float | None = None) -> TokenSet:
        """Build a token set from the JSON that `POST /oauth/v2/accessToken` returns."""
        issued_at = time.time() if now is None else now
        expires_in = body.get("expires_in")
        refresh_expires_in = body.get("refresh_token_expires_in")
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            access_token_expires_at=issued_at + expires_in if expires_in else None,
            refresh_token_expires_at=issued_at + refresh_expires_in if refresh_expires_in else None,
            scope=body.get("scope"),
        )


def _log_oauth_retry(details: dict) -> None:
    logger.warning(
        "Retrying the LinkedIn OAuth call after %s (attempt %d of %d) in %.1f s",
        details.get("exception"), details["tries"] + 1, OAUTH_MAX_ATTEMPTS, details["wait"],
    )


class OAuthClient:
    """Calls LinkedIn's OAuth token endpoints with the app's client credentials."""

    def __init__(
        self,
        oauth_base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.oauth_base_url = oauth_base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._session = session or requests.Session()
        self._timeout = timeout_seconds

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Exchange an authorization code for tokens."""
        body = self._post_form(
            "/oauth/v2/accessToken",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
        )
        return TokenSet.from_token_response(body)

    def refresh(self, refresh_token: str) -> TokenSet:
        """Mint a new access token with the refresh token.

        Raises:
            RefreshTokenError: LinkedIn rejected the refresh token as invalid, expired or revoked.
        """
        body = self._post_form(
            "/oauth/v2/accessToken",
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
        )
        tokens = TokenSet.from_token_response(body)
        if tokens.refresh_token is None:
            # LinkedIn may omit the unchanged refresh token; the caller keeps the one it has.
            tokens.refresh_token = refresh_token
        return tokens

    def introspect(self, token: str) -> dict[str, t.Any]:
        """Return LinkedIn's introspection record for an access or refresh token."""
        return self._post_form(
            "/oauth/v2/introspectToken",
            {"client_id": self.client_id, "client_secret": self._client_secret, "token": token},
        )

    def _post_with_retries(self, path: str, form: dict[str, str]) -> requests.Response:
        """POST the form, retrying a timeout, a dropped connection or a 5xx a few times.

        A code is single use, so an exchange is retried only when no response arrived at all.
        """
        url = self.oauth_base_url + path
        retry_server_errors = form.get("grant_type") != "authorization_code"
        response: requests.Response | None = None
        for attempt in backoff.retry_context(
            TransportError,
            backoff.expo,
            max_tries=OAUTH_MAX_ATTEMPTS,
            jitter=backoff.full_jitter,
            on_backoff=_log_oauth_retry,
            logger=None,
        ):
            with attempt:
                try:
                    response = self._session.post(url, data=form, timeout=self._timeout)
                except requests.RequestException as exc:
                    msg = f"could not reach the LinkedIn OAuth server at {self.oauth_base_url}: {type(exc).__name__}"
                    raise TransportError(msg, method="POST", path=path) from None
                if retry_server_errors and response.status_code >= 500:
                    msg = f"LinkedIn OAuth {path} returned HTTP {response.status_code}"
                    raise TransportError(msg, status=response.status_code, method="POST", path=path)
        assert response is not None  # retry_context returns only after a successful attempt
        return response

    def _post_form(self, path: str, form: dict[str, str]) -> dict[str, t.Any]:
        response = self._post_with_retries(path, form)

        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.ok and isinstance(body, dict):
            return body

        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        message = f"LinkedIn OAuth {path} returned HTTP {response.status_code}"
        if error:
            message += f" {error}"
        if description:
            message += f": {scrub_text(str(description))}"

        is_refresh = form.get("grant_type") == "refresh_token"
        if is_refresh and response.status_code in (400, 401) and error in TERMINAL_REFRESH_ERRORS:
            msg = f"the refresh token was rejected ({error}); {LOGIN_HINT}"
            raise RefreshTokenError(msg, status=response.status_code, code=error, method="POST", path=path)
        if response.status_code >= 500:
            raise TransportError(message, status=response.status_code, method="POST", path=path)
        raise AuthenticationError(message, status=response.status_code, code=error, method="POST", path=path)


class TokenManager:
    """Holds the current access token and refreshes it once for all threads.

    `refresh(failed_token)` is single flight: when several threads see a 401 for the same token,
    the first refreshes and the others reuse its result.
    """

    def __init__(
        self,
        tokens: TokenSet,
        oauth: OAuthClient | None = None,
        *,
        on_refresh: t.Callable[[TokenSet], None] | None = None,
    ) -> None:
        self._tokens = tokens
        self._oauth = oauth
        self._on_refresh = on_refresh
        self._lock = threading.Lock()
        self.last_refreshed_at: float | None = None

    @property
    def access_token(self) -> str:
        return self._tokens.access_token

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    @property
    def oauth(self) -> OAuthClient | None:
        return self._oauth

    @property
    def can_refresh(self) -> bool:
        return self._oauth is not None and bool(self._tokens.refresh_token)

    def refresh(self, failed_token: str | None = None) -> str:
        """Return a fresh access token, refreshing unless another thread already did.

        Raises:
            AuthenticationError: no refresh token or client credentials are configured.
            RefreshTokenError: LinkedIn rejected the refresh token.
        """
        with self._lock:
            if failed_token is not None and failed_token != self._tokens.access_token:
                return self._tokens.access_token
            if not self.can_refresh:
                msg = (
                    "the access token was rejected and no refresh token with client_id and "
                    f"client_secret is configured; {LOGIN_HINT}"
                )
                raise AuthenticationError(msg)

            assert self._oauth is not None  # guaranteed by can_refresh
            new_tokens = self._oauth.refresh(self._tokens.refresh_token or "")
            if new_tokens.refresh_token_expires_at is None:
                new_tokens.refresh_token_expires_at = self._tokens.refresh_token_expires_at
            # The new tokens are persisted before anything uses them, so a crash right after a
            # refresh never leaves the store holding only a token LinkedIn may already rotate.
            if self._on_refresh is not None:
                self._on_refresh(new_tokens)
            self._tokens = new_tokens
            self.last_refreshed_at = time.monotonic()
            logger.info(
                "Refreshed the LinkedIn access token; it expires at %s",
                _format_epoch(new_tokens.access_token_expires_at),
            )
            return new_tokens.access_token


def parse_scopes(value: str | t.Sequence[str] | None) -> tuple[str, ...]:
    """Split a scope setting given as a list or as a space- or comma-separated string."""
    if value is None or value == "":
        return DEFAULT_SCOPES
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(item) for item in value]
    scopes = tuple(dict.fromkeys(item.strip() for item in items if item.strip()))
    if not scopes:
        return DEFAULT_SCOPES
    return scopes


def format_epoch(epoch_seconds: float | None) -> str:
    """Format epoch seconds as a UTC timestamp for messages."""
    return _format_epoch(epoch_seconds)


def check_tokens_at_start(
    manager: TokenManager,
    *,
    refresh_window_seconds: float = DEFAULT_REFRESH_WINDOW_SECONDS,
    verify_with_server: bool = True,
    now: float | None = None,
) -> str | None:
    """Make sure a run starts with a usable access token; return why it refreshed, if it did.

    It fails when the refresh token has expired and warns when it expires within
    `REFRESH_TOKEN_WARNING_DAYS`. It refreshes when the access token expires within
    `refresh_window_seconds` or, with `verify_with_server`, when introspection reports it
    expired, revoked or unknown. Introspection also supplies expiry times that the tokens lack,
    such as for tokens from the config. Introspection that fails for other reasons is logged
    and skipped.

    Raises:
        RefreshTokenError: the refresh token has expired or LinkedIn rejected it.
        AuthenticationError: the access token must be replaced and it cannot be refreshed.
    """
    current_time = time.time() if now is None else now
    tokens = manager.tokens
    problem = None
    if verify_with_server and manager.oauth is not None:
        problem = _introspect_access_token(manager.oauth, tokens)
        _introspect_refresh_token(manager.oauth, tokens)
    _raise_if_refresh_token_expired(tokens, current_time)

    reason = None
    expires_at = tokens.access_token_expires_at
    if expires_at is not None and expires_at <= current_time:
        reason = f"expired at {_format_epoch(expires_at)}"
    elif expires_at is not None and expires_at - current_time <= refresh_window_seconds:
        reason = f"expires at {_format_epoch(expires_at)}, within the {refresh_window_seconds:.0f} s refresh window"
    elif problem is not None:
        reason = problem

    if reason is not None:
        if not manager.can_refresh:
            msg = (
                f"the access token {reason} and no refresh token with client_id and client_secret is "
                f"configured; {LOGIN_HINT}"
            )
            raise AuthenticationError(msg)
        logger.info("Refreshing the LinkedIn access token before the run: it %s", reason)
        manager.refresh(failed_token=tokens.access_token)

    _warn_if_refresh_token_expires_soon(manager.tokens, current_time)
    return reason


def _raise_if_refresh_token_expired(tokens: TokenSet, current_time: float) -> None:
    expires_at = tokens.refresh_token_expires_at
    if expires_at is not None and tokens.refresh_token and expires_at <= current_time:
        msg = f"the refresh token expired at {_format_epoch(expires_at)}; {LOGIN_HINT}"
        raise RefreshTokenError(msg, code="expired")


def _warn_if_refresh_token_expires_soon(tokens: TokenSet, current_time: float) -> None:
    expires_at = tokens.refresh_token_expires_at
    if expires_at is None or not tokens.refresh_token:
        return
    days_left = (expires_at - current_time) / 86400
    if days_left <= REFRESH_TOKEN_WARNING_DAYS:
        logger.warning(
            "The LinkedIn refresh token expires at %s (%.0f days left); run `linkedin-audiences auth login` "
            "before then, because only a new consent extends it",
            _format_epoch(expires_at),
            days_left,
        )


def _introspect(oauth: OAuthClient, token: str, kind: str) -> dict[str, t.Any] | None:
    """Return the introspection record of `token`; None when LinkedIn does not know it or fails."""
    try:
        return oauth.introspect(token)
    except AuthenticationError as exc:
        if exc.status == 400:
            return None
        logger.warning("Could not introspect the %s token, so it is used as it is: %s", kind, exc)
    except TransportError as exc:
        logger.warning("Could not introspect the %s token, so it is used as it is: %s", kind, exc)
    return {"active": True, "status": "not checked"}


def _introspect_access_token(oauth: OAuthClient, tokens: TokenSet) -> str | None:
    """Return why introspection finds the access token unusable, or None when it is usable.

    A missing `access_token_expires_at` is filled in from the record's `expires_at`.
    """
    record = _introspect(oauth, tokens.access_token, "access")
    if record is None:
        return "is unknown to LinkedIn's introspection endpoint"
    if not record.get("active"):
        return f"is {record.get('status') or 'inactive'} according to LinkedIn's introspection endpoint"
    if tokens.access_token_expires_at is None:
        tokens.access_token_expires_at = _epoch_or_none(record.get("expires_at"))
    return None


def _introspect_refresh_token(oauth: OAuthClient, tokens: TokenSet) -> None:
    """Learn the refresh token's expiry when it is unknown, and fail when it is expired or revoked."""
    if not tokens.refresh_token or tokens.refresh_token_expires_at is not None:
        return
    record = _introspect(oauth, tokens.refresh_token, "refresh")
    if record is None:
        # LinkedIn does not know the token; a refresh attempt, if one is needed, then fails.
        return
    status = record.get("status")
    if not record.get("active") and status in ("expired", "revoked"):
        msg = f"the refresh token is {status} according to LinkedIn's introspection endpoint; {LOGIN_HINT}"
        raise RefreshTokenError(msg, code=str(status))
    # NOTE: `expires_at` is in the OAuth server's clock, which is the sandbox's simulated clock
    # there, so after a sandbox clock change the learned expiry is off by that change.
    tokens.refresh_token_expires_at = _epoch_or_none(record.get("expires_at"))


def _epoch_or_none(value: t.Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _format_epoch(epoch_seconds: float | None) -> str:
    if epoch_seconds is None:
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_seconds))
