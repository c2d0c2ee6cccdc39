"""Token validity checks: introspection plus a `GET /v2/me` probe, once or on an interval.

One check introspects the access token (when client credentials are configured), refreshes it
when it is expired, revoked or about to expire (unless refreshing is off), and probes `/v2/me`
with it. A check is dead when no working access token can be had without a new consent.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import typing as t

import requests

from target_linkedin_audiences.auth import (
    DEFAULT_REFRESH_WINDOW_SECONDS,
    LOGIN_HINT,
    REQUIRED_SCOPE,
    check_tokens_at_start,
    format_epoch,
)
from target_linkedin_audiences.errors import (
    EXIT_API,
    EXIT_AUTH,
    AuthenticationError,
    LinkedInError,
    RefreshTokenError,
    TargetError,
    error_from_response,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_linkedin_audiences.auth import TokenManager
    from target_linkedin_audiences.connection import Connection

logger = logging.getLogger(__name__)

ME_PATH = "/v2/me"
DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 900


class TokenDeadError(AuthenticationError):
    """No working access token can be had: the member must run the consent flow again."""

    exit_code = EXIT_AUTH


@dataclasses.dataclass
class TokenCheck:
    """The outcome of one validity check. Holds no token."""

    valid: bool
    dead: bool
    # `active`, `expired`, `revoked`, `unknown` (LinkedIn does not know it) or `not checked`.
    access_status: str
    refresh_status: str
    access_token_expires_at: float | None
    refresh_token_expires_at: float | None
    scopes: tuple[str, ...] | None
    me_status: str
    member_id: str | None
    refreshed: bool
    problem: str | None

    @property
    def exit_code(self) -> int:
        if self.valid:
            return 0
        if self.dead or self.access_status in ("expired", "revoked", "unknown"):
            return EXIT_AUTH
        return EXIT_API

    def summary(self, now: float | None = None) -> str:
        """Return the one-line log form of the check."""
        current_time = time.time() if now is None else now
        if self.valid:
            verdict = "valid"
        elif self.dead:
            verdict = "dead"
        else:
            verdict = "not valid"
        parts = [
            verdict,
            f"access_token={self.access_status}",
            f"access_expires={format_epoch(self.access_token_expires_at)}",
            f"refresh_token={self.refresh_status}",
        ]
        if self.refresh_token_expires_at is not None and self.refresh_status in ("active", "present"):
            days_left = (self.refresh_token_expires_at - current_time) / 86400
            parts.append(f"refresh_days_left={days_left:.0f}")
        parts.append(f"me={self.me_status}")
        if self.refreshed:
            parts.append("refreshed=yes")
        if self.problem:
            parts.append(f"problem={self.problem}")
        return " ".join(parts)


def check_token(
    manager: TokenManager,
    session: requests.Session,
    api_base_url: str,
    *,
    refresh: bool = True,
    refresh_window_seconds: float = DEFAULT_REFRESH_WINDOW_SECONDS,
    introspect_refresh_token: bool = False,
    timeout_seconds: float = 30.0,
    now: float | None = None,
) -> TokenCheck:
    """Check the access token by introspection and `/v2/me`, refreshing it when allowed.

    A token problem raises nothing: the returned check describes it.
    """
    current_time = time.time() if now is None else now
    refreshed = False
    problem = None

    access_status, scopes = _introspect_access_token(manager)
    expires_at = manager.tokens.access_token_expires_at
    needs_refresh = access_status in ("expired", "revoked", "unknown") or (
        expires_at is not None and expires_at - current_time <= refresh_window_seconds
    )
    if needs_refresh and refresh and manager.can_refresh:
        failure = _refresh(manager)
        if failure is not None:
            return _failed_refresh_check(manager, access_status, failure)
        refreshed = True
        access_status, scopes = _introspect_access_token(manager)

    me_status, member_id, me_error = _probe_me(manager.access_token, session, api_base_url, timeout_seconds)
    if me_error in ("expired", "revoked", "unknown") and refresh and manager.can_refresh and not refreshed:
        failure = _refresh(manager)
        if failure is not None:
            return _failed_refresh_check(manager, me_error, failure)
        refreshed = True
        access_status, scopes = _introspect_access_token(manager)
        me_status, member_id, me_error = _probe_me(manager.access_token, session, api_base_url, timeout_seconds)

    if me_error in ("expired", "revoked", "unknown"):
        access_status = me_error
    valid = access_status in ("active", "not checked") and me_error is None
    if valid and scopes is not None and REQUIRED_SCOPE not in scopes:
        problem = f"the token lacks the {REQUIRED_SCOPE} scope; {LOGIN_HINT}"
        valid = False
    elif not valid:
        problem = _describe_problem(access_status, me_status, manager.can_refresh)

    refresh_status = _refresh_token_status(manager, introspect_refresh_token, current_time)
    dead = not valid and access_status in ("expired", "revoked", "unknown") and (
        not manager.can_refresh or refresh_status in ("expired", "revoked", "unknown")
    )
    if dead:
        problem = f"the access token is {access_status} and the refresh token is {refresh_status}; {LOGIN_HINT}"
    return TokenCheck(
        valid=valid,
        dead=dead,
        access_status=access_status,
        refresh_status=refresh_status,
        access_token_expires_at=manager.tokens.access_token_expires_at,
        refresh_token_expires_at=manager.tokens.refresh_token_expires_at,
        scopes=scopes,
        me_status=me_status,
        member_id=member_id,
        refreshed=refreshed,
        problem=problem,
    )


def _refresh(manager: TokenManager) -> tuple[bool, str] | None:
    """Refresh the access token; on failure return whether the token is dead and why."""
    try:
        manager.refresh(failed_token=manager.access_token)
    except RefreshTokenError as exc:
        return True, str(exc)
    except LinkedInError as exc:
        logger.warning("Could not refresh the access token: %s", exc)
        return False, f"refreshing failed: {exc}"
    return None


def _failed_refresh_check(manager: TokenManager, access_status: str, failure: tuple[bool, str]) -> TokenCheck:
    dead, problem = failure
    return TokenCheck(
        valid=False,
        dead=dead,
        access_status=access_status,
        refresh_status="rejected" if dead else "not checked",
        access_token_expires_at=manager.tokens.access_token_expires_at,
        refresh_token_expires_at=manager.tokens.refresh_token_expires_at,
        scopes=None,
        me_status="not checked",
        member_id=None,
        refreshed=False,
        problem=problem,
    )


def _introspect_access_token(manager: TokenManager) -> tuple[str, tuple[str, ...] | None]:
    oauth = manager.oauth
    if oauth is None:
        return "not checked", None
    try:
        record = oauth.introspect(manager.access_token)
    except AuthenticationError as exc:
        if exc.status == 400:
            return "unknown", None
        logger.warning("Introspection failed: %s", exc)
        return "not checked", None
    except LinkedInError as exc:
        logger.warning("Introspection failed: %s", exc)
        return "not checked", None

    scope_text = record.get("scope")
    scopes = tuple(scope_text.replace(",", " ").split()) if isinstance(scope_text, str) else None
    if record.get("active"):
        # Tokens from the config come without expiry times, so introspection supplies them.
        if manager.tokens.access_token_expires_at is None:
            manager.tokens.access_token_expires_at = _epoch_or_none(record.get("expires_at"))
        return "active", scopes
    return str(record.get("status") or "inactive"), scopes


def _refresh_token_status(manager: TokenManager, introspect: bool, current_time: float) -> str:
    tokens = manager.tokens
    if not tokens.refresh_token:
        return "missing"
    if tokens.refresh_token_expires_at is not None and tokens.refresh_token_expires_at <= current_time:
        return "expired"
    if not introspect or manager.oauth is None:
        return "present"
    try:
        record = manager.oauth.introspect(tokens.refresh_token)
    except AuthenticationError as exc:
        return "unknown" if exc.status == 400 else "not checked"
    except LinkedInError:
        return "not checked"
    if record.get("active"):
        if tokens.refresh_token_expires_at is None:
            tokens.refresh_token_expires_at = _epoch_or_none(record.get("expires_at"))
        return "active"
    return str(record.get("status") or "inactive")


def _epoch_or_none(value: t.Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _probe_me(
    access_token: str,
    session: requests.Session,
    api_base_url: str,
    timeout_seconds: float,
) -> tuple[str, str | None, str | None]:
    """Call `/v2/me` once; return its status text, the member id, and a token problem if any."""
    try:
        response = session.get(
            api_base_url.rstrip("/") + ME_PATH,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout_seconds,
        )
    except requests.RequestException as exc:
        return f"unreachable ({type(exc).__name__})", None, "unreachable"
    if response.ok:
        try:
            member_id = response.json().get("id")
        except ValueError:
            member_id = None
        return "ok", f"urn:li:person:{member_id}" if member_id else None, None

    error = error_from_response(response)
    if response.status_code == 403:
        # The token works but lacks r_basicprofile or r_liteprofile; introspection still applies.
        return "forbidden (no profile scope)", None, None
    if response.status_code == 401:
        token_problem = {65602: "expired", 65601: "revoked"}.get(error.service_error_code or 0, "unknown")
        return f"HTTP 401 {error.code or error.service_error_code or ''}".strip(), None, token_problem
    return f"HTTP {response.status_code}", None, "server"


def probe_member_id(access_token: str, session: requests.Session | None, api_base_url: str) -> str:
    """Return the member URN that `/v2/me` reports for `access_token`, or why it is unknown."""
    status, member_id, _ = _probe_me(access_token, session or requests.Session(), api_base_url, 30.0)
    return member_id or f"unknown (/v2/me: {status})"


def _describe_problem(access_status: str, me_status: str, can_refresh: bool) -> str:
    if access_status in ("expired", "revoked", "unknown"):
        fix = "run `linkedin-audiences auth refresh`" if can_refresh else LOGIN_HINT
        return f"the access token is {access_status}; {fix}"
    return f"LinkedIn could not confirm the token (introspection {access_status}, /v2/me {me_status})"


class TokenHeartbeat:
    """Checks the token every `interval_seconds` in a daemon thread during a long run.

    It refreshes ahead of expiry through the shared `TokenManager`, so it never races the API
    client. When the token dies it logs an error, stores the error for `raise_if_dead`, and calls
    `on_dead`.
    """

    def __init__(
        self,
        manager: TokenManager,
        session: requests.Session,
        api_base_url: str,
        *,
        interval_seconds: float = DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
        refresh_window_seconds: float = DEFAULT_REFRESH_WINDOW_SECONDS,
        on_dead: Callable[[TokenDeadError], None] | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"heartbeat interval must be more than 0 seconds, got {interval_seconds}")
        self._manager = manager
        self._session = session
        self._api_base_url = api_base_url
        self.interval_seconds = interval_seconds
        self._refresh_window_seconds = refresh_window_seconds
        self._on_dead = on_dead
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: TokenDeadError | None = None
        self.checks = 0

    def start(self) -> TokenHeartbeat:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="token-heartbeat", daemon=True)
        self._thread.start()
        logger.info("Token heartbeat started: one check every %.0f s", self.interval_seconds)
        return self

    def stop(self) -> None:
        """Stop the thread; safe to call more than once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
            logger.info("Token heartbeat stopped after %d checks", self.checks)

    def raise_if_dead(self) -> None:
        """Raise the stored error when a check found the token dead."""
        if self.error is not None:
            raise self.error

    def check_now(self) -> TokenCheck:
        """Run one check in the calling thread and record a dead token."""
        check = check_token(
            self._manager,
            self._session,
            self._api_base_url,
            refresh_window_seconds=self._refresh_window_seconds,
        )
        self.checks += 1
        log = logger.info if check.valid else logger.warning
        log("Token heartbeat: %s", check.summary())
        if check.dead and self.error is None:
            problem = check.problem or f"no working access token; {LOGIN_HINT}"
            self.error = TokenDeadError(f"the LinkedIn token died during the run: {problem}")
            logger.error("%s", self.error)
            if self._on_dead is not None:
                self._on_dead(self.error)
        return check

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                check = self.check_now()
            except TargetError as exc:
                logger.warning("Token heartbeat check failed: %s", exc)
                continue
            if check.dead:
                return


def run_heartbeat_loop(
    check: Callable[[], TokenCheck],
    *,
    interval_seconds: float,
    max_checks: int | None = None,
    emit: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenCheck:
    """Run `check` every `interval_seconds`, emitting one line per check; return the last check.

    It stops when a check finds the token dead or after `max_checks` checks.
    """
    count = 0
    while True:
        result = check()
        count += 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        emit(f"{stamp} heartbeat {count}: {result.summary()}")
        if result.dead or (max_checks is not None and count >= max_checks):
            return result
        sleep(interval_seconds)


def start_run_token_checks(
    connection: Connection,
    config: Mapping[str, t.Any],
    *,
    on_dead: Callable[[TokenDeadError], None] | None = None,
) -> TokenHeartbeat | None:
    """Check the tokens before a run reads its input, then start the run's heartbeat.

    Settings: `token_refresh_window_seconds` (refresh first when the access token expires
    within it) and `heartbeat_interval_seconds` (0 turns the heartbeat off). Returns the
    started heartbeat, which the caller stops when the run ends, or None.

    Raises:
        RefreshTokenError: the refresh token has expired or LinkedIn rejected it.
        AuthenticationError: the access token must be replaced and it cannot be refreshed.
    """
    if connection.tokens is None or connection.client is None:
        return None
    window = float(config.get("token_refresh_window_seconds", DEFAULT_REFRESH_WINDOW_SECONDS))
    check_tokens_at_start(connection.tokens, refresh_window_seconds=window)

    interval = float(config.get("heartbeat_interval_seconds", DEFAULT_HEARTBEAT_INTERVAL_SECONDS) or 0)
    if interval <= 0:
        return None
    heartbeat = TokenHeartbeat(
        connection.tokens,
        connection.client.session,
        connection.api_base_url,
        interval_seconds=interval,
        refresh_window_seconds=window,
        on_dead=on_dead,
    )
    return heartbeat.start()
