"""`linkedin-audiences auth`: sign in, show token status, refresh, and run the heartbeat."""

from __future__ import annotations

import sys
import time
import typing as t

import click

from target_linkedin_audiences.auth import (
    DEFAULT_REFRESH_WINDOW_SECONDS,
    LOGIN_HINT,
    REQUIRED_SCOPE,
    format_epoch,
    parse_scopes,
)
from target_linkedin_audiences.cli.common import build_config, connected, connection_options, exit_on_error
from target_linkedin_audiences.consent import DEFAULT_LOGIN_TIMEOUT_SECONDS, run_loopback_login
from target_linkedin_audiences.errors import EXIT_AUTH, ConfigError
from target_linkedin_audiences.heartbeat import (
    DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
    check_token,
    probe_member_id,
    run_heartbeat_loop,
)
from target_linkedin_audiences.token_store import config_tokens_fingerprint

if t.TYPE_CHECKING:
    from target_linkedin_audiences.auth import TokenSet
    from target_linkedin_audiences.connection import Connection


@click.group()
def auth() -> None:
    """Sign in to LinkedIn and manage the OAuth tokens."""


@auth.command()
@connection_options
@click.option("--no-browser", is_flag=True, help="Print the authorization URL and do not open a browser.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Loopback port of the redirect listener; 0 picks a free one [default: oauth_redirect_port, else 0].",
)
@click.option(
    "--timeout",
    "timeout_seconds",
    type=click.FloatRange(min=1),
    default=None,
    help=f"Seconds to wait for the redirect [default: oauth_login_timeout_seconds, else {DEFAULT_LOGIN_TIMEOUT_SECONDS}].",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Scope to request; repeat for several [default: oauth_scopes, else r_ads rw_dmp_segments r_basicprofile].",
)
@exit_on_error
def login(
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    no_browser: bool,
    port: int | None,
    timeout_seconds: float | None,
    scopes: tuple[str, ...],
) -> None:
    """Run the OAuth consent flow in a browser and store the tokens."""
    config = build_config(config_path, sandbox, sandbox_db)
    requested_scopes = parse_scopes(list(scopes) or config.get("oauth_scopes"))
    redirect_port = port if port is not None else int(config.get("oauth_redirect_port") or 0)
    timeout = timeout_seconds or float(config.get("oauth_login_timeout_seconds") or DEFAULT_LOGIN_TIMEOUT_SECONDS)

    with connected(config, require_token=False) as connection:
        oauth = connection.oauth
        store = connection.token_store
        if oauth is None or store is None:
            raise ConfigError("client_id and client_secret are required to sign in; set them in the config")
        fingerprint = config_tokens_fingerprint(config.get("access_token"), config.get("refresh_token"))

        def store_tokens(tokens: TokenSet) -> None:
            store.save(tokens, config_tokens_sha256=fingerprint)

        def show_url(url: str) -> None:
            verb = "Open" if no_browser else "Opening a browser; if none appears, open"
            click.echo(f"{verb} this URL to sign in to LinkedIn:\n{url}", err=False)

        result = run_loopback_login(
            oauth,
            scopes=requested_scopes,
            port=redirect_port,
            timeout_seconds=timeout,
            open_browser=not no_browser,
            show_url=show_url,
            on_tokens=store_tokens,
        )

        tokens = result.tokens
        member = probe_member_id(tokens.access_token, connection.client.session if connection.client else None,
                                 connection.api_base_url)
        granted = parse_scopes(tokens.scope) if tokens.scope else ()
        click.echo(f"Signed in as LinkedIn member {member}")
        click.echo(f"Granted scopes: {', '.join(granted) if granted else 'not reported'}")
        click.echo(f"Access token expires:  {format_epoch(tokens.access_token_expires_at)}")
        click.echo(f"Refresh token expires: {_refresh_expiry_text(tokens)}")
        click.echo(f"Tokens stored in {store.path} (mode 0600)")
        if granted and REQUIRED_SCOPE not in granted:
            click.echo(f"Warning: the {REQUIRED_SCOPE} scope was not granted, so segments cannot be managed", err=True)


@auth.command()
@connection_options
@exit_on_error
def status(config_path: str | None, sandbox: bool, sandbox_db: str | None) -> None:
    """Check the tokens by introspection and a /v2/me call; exit 0 only when they are valid."""
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config, require_token=False) as connection:
        manager = _require_tokens(connection)
        assert connection.client is not None
        check = check_token(
            manager,
            connection.client.session,
            connection.api_base_url,
            refresh=False,
            refresh_window_seconds=0,
            introspect_refresh_token=True,
        )
        now = time.time()
        store_path = connection.token_store.path if connection.token_store else "none"
        click.echo(f"Token source:  {connection.token_source} (token store {store_path})")
        click.echo(f"Access token:  {check.access_status}, expires {format_epoch(check.access_token_expires_at)}")
        refresh_line = f"{check.refresh_status}, expires {format_epoch(check.refresh_token_expires_at)}"
        if check.refresh_token_expires_at is not None and check.refresh_status in ("active", "present"):
            refresh_line += f" ({(check.refresh_token_expires_at - now) / 86400:.0f} days left)"
        click.echo(f"Refresh token: {refresh_line}")
        click.echo(f"Scopes:        {', '.join(check.scopes) if check.scopes else 'not reported'}")
        me_line = check.me_status + (f" (member {check.member_id})" if check.member_id else "")
        click.echo(f"/v2/me:        {me_line}")
        click.echo(f"Status:        {'valid' if check.valid else 'NOT VALID'}")
        if check.problem:
            click.echo(f"Problem: {check.problem}", err=True)
    sys.exit(check.exit_code)


@auth.command()
@connection_options
@exit_on_error
def refresh(config_path: str | None, sandbox: bool, sandbox_db: str | None) -> None:
    """Mint a new access token with the refresh token now and store it."""
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config, require_token=False) as connection:
        manager = _require_tokens(connection)
        if not manager.can_refresh:
            msg = f"refreshing needs a refresh token, client_id and client_secret; {LOGIN_HINT}"
            raise ConfigError(msg)
        manager.refresh()
        tokens = manager.tokens
        store_path = connection.token_store.path if connection.token_store else "none"
        click.echo(f"Refreshed the access token; it expires {format_epoch(tokens.access_token_expires_at)}")
        click.echo(f"Refresh token expires: {_refresh_expiry_text(tokens)}")
        click.echo(f"Tokens stored in {store_path}")


@auth.command()
@connection_options
@click.option(
    "--interval",
    "interval_seconds",
    type=click.FloatRange(min=1),
    default=None,
    help=f"Seconds between checks [default: heartbeat_interval_seconds, else {DEFAULT_HEARTBEAT_INTERVAL_SECONDS}].",
)
@click.option("--count", "max_checks", type=click.IntRange(min=1), default=None, help="Stop after this many checks.")
@click.option("--no-refresh", is_flag=True, help="Only check; never refresh an expired or expiring access token.")
@exit_on_error
def heartbeat(
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    interval_seconds: float | None,
    max_checks: int | None,
    no_refresh: bool,
) -> None:
    """Check the token periodically, one line per check; exit 3 when it dies."""
    config = build_config(config_path, sandbox, sandbox_db)
    interval = interval_seconds or float(config.get("heartbeat_interval_seconds") or DEFAULT_HEARTBEAT_INTERVAL_SECONDS)
    window = float(config.get("token_refresh_window_seconds") or DEFAULT_REFRESH_WINDOW_SECONDS)
    with connected(config, require_token=False) as connection:
        manager = _require_tokens(connection)
        assert connection.client is not None
        session = connection.client.session

        def check_once() -> t.Any:
            return check_token(
                manager,
                session,
                connection.api_base_url,
                refresh=not no_refresh,
                refresh_window_seconds=window,
            )

        try:
            last = run_heartbeat_loop(check_once, interval_seconds=interval, max_checks=max_checks, emit=click.echo)
        except KeyboardInterrupt:
            click.echo("Heartbeat stopped", err=True)
            return
    if last.dead:
        problem = last.problem or f"no working access token; {LOGIN_HINT}"
        click.echo(f"Error: the token died: {problem}", err=True)
        sys.exit(EXIT_AUTH)
    sys.exit(last.exit_code)


def _require_tokens(connection: Connection) -> t.Any:
    if connection.tokens is None:
        store_path = connection.token_store.path if connection.token_store else "none"
        click.echo(
            f"Error: no access token in the config or the token store ({store_path}); "
            "run `linkedin-audiences auth login` to sign in",
            err=True,
        )
        sys.exit(EXIT_AUTH)
    return connection.tokens


def _refresh_expiry_text(tokens: TokenSet) -> str:
    if tokens.refresh_token is None:
        return "no refresh token was issued (the app lacks programmatic refresh tokens)"
    if tokens.refresh_token_expires_at is None:
        return "not reported"
    days_left = (tokens.refresh_token_expires_at - time.time()) / 86400
    return f"{format_epoch(tokens.refresh_token_expires_at)} ({days_left:.0f} days left)"
