"""`linkedin-audiences segments`: list DMP segments, show one, and watch status and match metrics."""

from __future__ import annotations

import datetime
import time
import typing as t

import click

from target_linkedin_audiences.cli.common import build_config, connected, connection_options, exit_on_error
from target_linkedin_audiences.cli.output import csv_text, format_option, json_text, render_table
from target_linkedin_audiences.cli.segment_views import (
    LIST_COLUMNS,
    SEGMENT_FIELDS,
    public_fields,
    render_detail,
    render_status,
    segment_detail,
    segment_row,
    status_summary,
)
from target_linkedin_audiences.client import account_urn
from target_linkedin_audiences.errors import ConfigError, LinkedInError, NotFoundError, PermissionDeniedError
from target_linkedin_audiences.metrics import STATUS_EXPLANATIONS, SegmentMetrics, metrics_from_segment
from target_linkedin_audiences.segments import SegmentService

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from target_linkedin_audiences.connection import Connection

_F = t.TypeVar("_F", bound="Callable[..., t.Any]")

MEMBER_KINDS = ("USER", "COMPANY")


@click.group()
def segments() -> None:
    """List DMP segments and read their status and match metrics."""


# Options


def _parse_account(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return account_urn(value.strip().strip("\"'"))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def account_option(function: _F) -> _F:
    """Add `--account ID`, parsed to a sponsored account URN."""
    option = click.option(
        "--account",
        "account",
        callback=_parse_account,
        metavar="ID",
        help="Ad account: 123 or urn:li:sponsoredAccount:123 [default: the config's ad_account_id,"
        " or the sandbox's demo account with --sandbox].",
    )
    return option(function)


def filter_options(function: _F) -> _F:
    """Add `--type` and `--status`, the filters of `segments list` and `segments status`."""
    options = [
        click.option(
            "--type",
            "member_kind",
            type=click.Choice(MEMBER_KINDS, case_sensitive=False),
            help="Only segments of people (USER) or companies (COMPANY), list uploads included.",
        ),
        click.option(
            "--status",
            "statuses",
            multiple=True,
            type=click.Choice(sorted(STATUS_EXPLANATIONS), case_sensitive=False),
            help="Only segments with this status; repeat the option for several.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _parse_segment_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    text = value.strip()
    if not text.isdigit():
        msg = f"a segment id is a number, such as the ID column of `segments list`; got {value!r}"
        raise click.BadParameter(msg)
    return str(int(text))


# Reading


def resolve_account(option_urn: str | None, connection: Connection) -> str:
    """Return the account from `--account`, else from the config or the sandbox default."""
    urn = option_urn or connection.account_urn
    if urn is None:
        msg = "no ad account given; pass --account ID or set ad_account_id in the config"
        raise ConfigError(msg)
    return urn


def read_segments(
    connection: Connection,
    urn: str,
    member_kind: str | None = None,
    statuses: Sequence[str] = (),
) -> list[SegmentMetrics]:
    """Read the metrics of every segment of the account, all pages, keeping those that pass the filters."""
    assert connection.client is not None  # connected() requires a token
    service = SegmentService(connection.client, urn, connection.source_platform or "")
    status_filter = {status.upper() for status in statuses}
    kind = member_kind.upper() if member_kind else None

    try:
        elements = list(service.list())
    except PermissionDeniedError as exc:
        msg = f"{exc}; run `linkedin-audiences accounts list` to see the accounts and roles of the signed-in member"
        raise PermissionDeniedError(msg, status=exc.status, code=exc.code) from None

    selected = []
    for segment in elements:
        metrics = metrics_from_segment(segment)
        # List-upload types carry the member kind as a prefix: USER_LIST_UPLOAD, COMPANY_LIST_UPLOAD.
        if kind and metrics.segment_type.split("_", 1)[0] != kind:
            continue
        if status_filter and (metrics.status or "") not in status_filter:
            continue
        selected.append(metrics)
    return selected


# Commands


@segments.command("list")
@account_option
@filter_options
@connection_options
@format_option
@exit_on_error
def list_command(
    account: str | None,
    member_kind: str | None,
    statuses: tuple[str, ...],
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    output_format: str,
) -> None:
    """List every DMP segment of an ad account with its status and match metrics.

    RATE is LinkedIn's match rate, matched count over input count, both over the last 7 days.
    READY means the status is READY or UPDATING and the audience has at least 300 members.
    When a segment is not ready, json, csv and `segments status` give the reason.
    """
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config) as connection:
        urn = resolve_account(account, connection)
        rows = [segment_row(metrics) for metrics in read_segments(connection, urn, member_kind, statuses)]

    output_format = output_format.lower()
    if output_format == "json":
        click.echo(json_text({"account": urn, "segments": [public_fields(row) for row in rows]}))
    elif output_format == "csv":
        click.echo(csv_text(rows, SEGMENT_FIELDS), nl=False)
    elif rows:
        click.echo(render_table(rows, LIST_COLUMNS))
    else:
        click.echo(f"No segments in {urn}{' match the filters' if member_kind or statuses else ''}.")


@segments.command("show")
@click.argument("segment_id", callback=_parse_segment_id)
@connection_options
@format_option
@exit_on_error
def show_command(
    segment_id: str,
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    output_format: str,
) -> None:
    """Show one DMP segment in full: destinations, status in plain words, and what to do next."""
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config) as connection:
        assert connection.client is not None  # connected() requires a token
        service = SegmentService(connection.client, connection.account_urn or "", connection.source_platform or "")
        try:
            segment = service.get(segment_id)
        except NotFoundError:
            msg = (
                f"DMP segment {segment_id} not found, or the signed-in member cannot see it; "
                "run `linkedin-audiences segments list --account ID` to see the account's segments"
            )
            raise NotFoundError(msg) from None

    detail = segment_detail(segment)
    output_format = output_format.lower()
    if output_format == "json":
        click.echo(json_text({"segment": detail}))
    elif output_format == "csv":
        click.echo(csv_text([detail], list(detail)), nl=False)
    else:
        click.echo(render_detail(segment))


@segments.command("status")
@account_option
@filter_options
@click.option(
    "--watch",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Read the segments again every SECONDS seconds until interrupted with Ctrl-C.",
)
@connection_options
@format_option
@exit_on_error
def status_command(
    account: str | None,
    member_kind: str | None,
    statuses: tuple[str, ...],
    watch: float | None,
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    output_format: str,
) -> None:
    """Report the status and match metrics of every segment of an account, and why any cannot serve.

    With --watch, json prints one line per refresh (JSON Lines) and csv prints its header once.
    """
    output_format = output_format.lower()
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config) as connection:
        urn = resolve_account(account, connection)
        refresh = 0
        try:
            while True:
                checked_at = datetime.datetime.now(tz=datetime.UTC)
                try:
                    found = read_segments(connection, urn, member_kind, statuses)
                except LinkedInError as exc:
                    # With --watch, a retryable failure that outlasted the client's retries is
                    # reported and the next refresh tries again. Any other error ends the command.
                    if watch is None or not exc.retryable:
                        raise
                    click.echo(f"Error: {exc}; trying again in {watch:g} s", err=True)
                else:
                    _emit_status(found, urn, checked_at, output_format, watch, refresh)
                    refresh += 1
                if watch is None:
                    return
                _wait(watch)
        except KeyboardInterrupt:
            return


def _wait(seconds: float) -> None:
    time.sleep(seconds)


def _emit_status(
    found: Sequence[SegmentMetrics],
    urn: str,
    checked_at: datetime.datetime,
    output_format: str,
    watch: float | None,
    refresh: int,
) -> None:
    checked = checked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if output_format == "json":
        document = {
            "account": urn,
            "checked_at": checked,
            "summary": status_summary(found),
            "segments": [public_fields(segment_row(metrics)) for metrics in found],
        }
        click.echo(json_text(document, compact=watch is not None))
        return
    if output_format == "csv":
        rows = ({**segment_row(metrics), "checked_at": checked} for metrics in found)
        click.echo(csv_text(rows, ["checked_at", *SEGMENT_FIELDS], header=refresh == 0), nl=False)
        return

    if watch is not None:
        # click.clear() empties a terminal, so each refresh replaces the last, and does nothing
        # when the output is piped.
        click.clear()
        if refresh > 0:
            click.echo("")
    suffix = f", every {watch:g} s (Ctrl-C stops)" if watch is not None else ""
    click.echo(render_status(found, urn, checked_at, suffix))
