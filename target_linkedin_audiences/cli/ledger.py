"""`linkedin-audiences ledger`: what the membership ledger holds, and how it compares with LinkedIn."""

from __future__ import annotations

import datetime
import os
import sys
import typing as t

import click

from target_linkedin_audiences.cli.common import build_config, connected, connection_options, exit_on_error
from target_linkedin_audiences.cli.output import Column, count_text, csv_text, format_option, json_text, render_table
from target_linkedin_audiences.errors import ConfigError, LinkedInError, NotFoundError
from target_linkedin_audiences.ledger import Ledger
from target_linkedin_audiences.metrics import metrics_from_segment
from target_linkedin_audiences.segments import SEGMENTS_PATH
from target_linkedin_audiences.settings import default_ledger_path

SHOW_FIELDS = ("segment_id", "segment_name", "segment_type", "source_segment_id", "account_urn", "members",
               "first_added_at", "last_added_at", "last_complete_run", "last_complete_at")
SHOW_COLUMNS = (
    Column("segment_id", "ID"),
    Column("segment_name", "NAME", shrink=True, min_width=12),
    Column("segment_type", "TYPE", drop_order=2),
    Column("members", "MEMBERS", render=count_text, align="right"),
    Column("last_added_at", "LAST ADDED", drop_order=1),
    Column("last_complete_at", "LAST COMPLETE RUN"),
)
VERIFY_FIELDS = ("segment_id", "segment_name", "ledger_members", "linkedin_status", "input_count",
                 "matched_count", "audience_size", "finding")
VERIFY_COLUMNS = (
    Column("segment_id", "ID"),
    Column("segment_name", "NAME", shrink=True, min_width=12),
    Column("ledger_members", "LEDGER", render=count_text, align="right"),
    Column("linkedin_status", "STATUS"),
    Column("audience_size", "AUDIENCE", render=count_text, align="right", drop_order=1),
    Column("finding", "FINDING", shrink=True, min_width=12),
)


@click.group()
def ledger() -> None:
    """Inspect the membership ledger that mirror sync keeps."""


def _open_ledger(config: t.Mapping[str, t.Any]) -> Ledger:
    path = config.get("ledger_path") or default_ledger_path(os.environ)
    if not os.path.exists(path):
        raise ConfigError(f"no ledger at {path}; set ledger_path or run the target first")
    return Ledger(path)


def _iso(epoch_seconds: float | None) -> str | None:
    if epoch_seconds is None:
        return None
    return datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@ledger.command("show")
@connection_options
@format_option
@exit_on_error
def show_command(config_path: str | None, sandbox: bool, sandbox_db: str | None, output_format: str) -> None:
    """List each segment in the ledger with its member count and last complete run."""
    config = build_config(config_path, sandbox, sandbox_db)
    store = _open_ledger(config)
    try:
        rows = store.segments()
    finally:
        store.close()
    for row in rows:
        row["first_added_at"] = _iso(row["first_added_at"])
        row["last_added_at"] = _iso(row["last_added_at"])
        row["last_complete_at"] = _iso(row["last_complete_at"])
    _print(rows, output_format, SHOW_FIELDS, SHOW_COLUMNS, "ledger", "The ledger holds no segments yet.")


@ledger.command("verify")
@connection_options
@format_option
@exit_on_error
def verify_command(config_path: str | None, sandbox: bool, sandbox_db: str | None, output_format: str) -> None:
    """Compare the ledger's member counts with LinkedIn's counts for the same segments.

    LinkedIn never lists a segment's members, so the check compares counts. LinkedIn's
    inputCount covers the last 7 days and its audienceSize only matched members, so both may be
    lower than the ledger's count. An audience larger than the ledger, or a segment LinkedIn no
    longer has, means the two disagree. Exits 1 when any segment disagrees.
    """
    config = build_config(config_path, sandbox, sandbox_db)
    store = _open_ledger(config)
    try:
        segments = store.segments()
    finally:
        store.close()

    rows = []
    with connected(config) as connection:
        assert connection.client is not None  # connected() requires a token
        for segment in segments:
            rows.append(_verify_segment(connection.client, segment))

    _print(rows, output_format, VERIFY_FIELDS, VERIFY_COLUMNS, "segments", "The ledger holds no segments yet.")
    if any(row["finding"] != "consistent" for row in rows):
        sys.exit(1)


def _verify_segment(client: t.Any, segment: dict[str, t.Any]) -> dict[str, t.Any]:
    row = {
        "segment_id": segment["segment_id"],
        "segment_name": segment["segment_name"],
        "ledger_members": segment["members"],
        "linkedin_status": None,
        "input_count": None,
        "matched_count": None,
        "audience_size": None,
    }
    try:
        metrics = metrics_from_segment(client.get(f"{SEGMENTS_PATH}/{segment['segment_id']}"))
    except NotFoundError:
        row["finding"] = "missing on LinkedIn: deleted there; the next run creates a new segment"
        return row
    except LinkedInError as exc:
        row["finding"] = f"could not read: {exc.status or 'no response'}"
        return row

    row.update(
        linkedin_status=metrics.status,
        input_count=metrics.input_count,
        matched_count=metrics.matched_count,
        audience_size=metrics.audience_size,
    )
    if metrics.audience_size is not None and metrics.audience_size > segment["members"]:
        row["finding"] = f"LinkedIn's audience {metrics.audience_size} exceeds the ledger's {segment['members']}"
    else:
        row["finding"] = "consistent"
    return row


def _print(rows: list[dict], output_format: str, fields: tuple, columns: tuple, key: str, empty: str) -> None:
    output_format = output_format.lower()
    if output_format == "json":
        click.echo(json_text({key: rows}))
    elif output_format == "csv":
        click.echo(csv_text(rows, fields), nl=False)
    elif rows:
        click.echo(render_table(rows, columns))
    else:
        click.echo(empty)
