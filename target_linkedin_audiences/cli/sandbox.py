"""`linkedin-audiences sandbox`: run the local LinkedIn API emulator and issue tokens from it."""

from __future__ import annotations

import ipaddress
import json
import logging
from pathlib import Path

import click

DEFAULT_DB_PATH = Path(".linkedin-sandbox") / "sandbox.db"
DEFAULT_ACCESS_TTL = 60 * 24 * 3600
DEFAULT_REFRESH_TTL = 365 * 24 * 3600


def _check_loopback(_ctx: click.Context, _param: click.Parameter, host: str) -> str:
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise click.BadParameter(f"{host!r} is not a loopback address; the sandbox serves 127.0.0.1, ::1 or localhost")
    return host


@click.group()
def sandbox() -> None:
    """Run the local LinkedIn API sandbox."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, callback=_check_loopback,
              help="Loopback address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port; 0 picks a free one.")
@click.option("--db", "db_path", default=str(DEFAULT_DB_PATH), show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file holding the sandbox state; created when missing.")
@click.option("--accounts", "extra_accounts", default=0, show_default=True, type=click.IntRange(0, 10_000),
              help="Ad accounts to add to the demo member's four, to exercise paging.")
@click.option("--build-delay", default=10.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a segment stays BUILDING after its first data.")
@click.option("--updating-seconds", default=60.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a READY segment shows UPDATING after a change.")
@click.option("--segment-ready-delay", default=5.0, show_default=True, type=click.FloatRange(0),
              help="Seconds after creation during which a segment's member endpoints return 404.")
@click.option("--match-percentage", default=70, show_default=True, type=click.IntRange(0, 100),
              help="Share of members that match, in percent.")
@click.option("--access-ttl", default=DEFAULT_ACCESS_TTL, show_default=True, type=click.IntRange(1),
              help="Lifetime of issued access tokens, in seconds.")
@click.option("--refresh-ttl", default=DEFAULT_REFRESH_TTL, show_default=True, type=click.IntRange(1),
              help="Lifetime of issued refresh tokens, in seconds.")
@click.option("--versions", default=None,
              help="Comma-separated active LinkedIn-Version values, such as 202607,202608; the default is"
                   " the versions LinkedIn served in December 2026.")
@click.option("--verbose", is_flag=True, help="Log every request (method, path, status, time).")
def serve(host: str, port: int, db_path: str, extra_accounts: int, build_delay: float, updating_seconds: float,
          segment_ready_delay: float, match_percentage: int, access_ttl: int, refresh_ttl: int,
          versions: str | None, verbose: bool) -> None:
    """Serve the LinkedIn API and OAuth emulator until interrupted."""
    from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

    # The CLI group may already have set up the root logger at WARNING. The sandbox's own
    # logger gets its level here, so its URL line always shows.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("target_linkedin_audiences.sandbox").setLevel(logging.DEBUG if verbose else logging.INFO)

    settings = SandboxSettings(
        access_token_ttl_seconds=access_ttl,
        refresh_token_ttl_seconds=refresh_ttl,
        build_delay_seconds=build_delay,
        updating_seconds=updating_seconds,
        segment_ready_delay_seconds=segment_ready_delay,
        match_percentage=match_percentage,
        extra_accounts=extra_accounts,
    )
    if versions:
        settings.active_versions = [v.strip() for v in versions.split(",") if v.strip()]

    server = SandboxServer(db_path, host=host, port=port, settings=settings)
    try:
        server.serve_forever()
    except OSError as error:
        raise click.ClickException(f"Could not serve on {host}:{port}: {error}") from error
    except KeyboardInterrupt:
        pass


@sandbox.command()
@click.option("--db", "db_path", default=str(DEFAULT_DB_PATH), show_default=True, type=click.Path(dir_okay=False),
              help="SQLite file of the sandbox to issue the token in; created when missing.")
@click.option("--access-ttl", default=DEFAULT_ACCESS_TTL, show_default=True, type=click.IntRange(1),
              help="Lifetime of the access token, in seconds.")
@click.option("--refresh-ttl", default=DEFAULT_REFRESH_TTL, show_default=True, type=click.IntRange(1),
              help="Lifetime of the refresh token, in seconds.")
@click.option("--scope", default=None,
              help="Space-separated scopes; the default is r_ads rw_ads rw_dmp_segments r_basicprofile.")
def token(db_path: str, access_ttl: int, refresh_ttl: int, scope: str | None) -> None:
    """Print a token pair for the demo member as JSON, skipping the consent page."""
    from target_linkedin_audiences.sandbox import issue_token_offline
    from target_linkedin_audiences.sandbox.settings import APP_SCOPES

    if scope is not None:
        unknown = [s for s in scope.split() if s not in APP_SCOPES]
        if unknown or not scope.split():
            raise click.BadParameter(f"use scopes from {', '.join(APP_SCOPES)}", param_hint="--scope")
    click.echo(json.dumps(issue_token_offline(db_path, access_ttl, refresh_ttl, scope=scope)))
