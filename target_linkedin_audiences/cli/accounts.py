"""`linkedin-audiences accounts`."""

from __future__ import annotations

import click

from target_linkedin_audiences.accounts import list_accounts
from target_linkedin_audiences.cli.common import build_config, connected, connection_options, exit_on_error
from target_linkedin_audiences.cli.output import Column, csv_text, format_option, json_text, render_table, yes_no

ACCOUNT_FIELDS = ("id", "urn", "name", "status", "currency", "type", "test", "role", "can_manage_audiences")
ACCOUNT_COLUMNS = (
    Column("id", "ID"),
    Column("name", "NAME", shrink=True, min_width=16),
    Column("status", "STATUS", drop_order=3),
    Column("currency", "CURRENCY", drop_order=2),
    Column("type", "TYPE", drop_order=1),
    Column("role", "ROLE"),
    Column("can_manage_audiences", "CAN MANAGE", render=yes_no),
)


@click.group()
def accounts() -> None:
    """List the sponsored ad accounts of the signed-in member."""


@accounts.command("list")
@connection_options
@format_option
@exit_on_error
def list_command(config_path: str | None, sandbox: bool, sandbox_db: str | None, output_format: str) -> None:
    """List every ad account the member has a role on, with whether that role can manage audiences.

    CAN MANAGE is yes when the role may create segments and add or remove members, which every
    role but VIEWER may. The table leaves out TYPE, then CURRENCY, then STATUS when the terminal is
    too narrow; json and csv carry every field.
    """
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config) as connection:
        assert connection.client is not None  # connected() requires a token
        rows = [account.as_dict() for account in list_accounts(connection.client)]

    output_format = output_format.lower()
    if output_format == "json":
        click.echo(json_text({"accounts": rows}))
    elif output_format == "csv":
        click.echo(csv_text(rows, ACCOUNT_FIELDS), nl=False)
    elif rows:
        click.echo(render_table(rows, ACCOUNT_COLUMNS))
    else:
        click.echo("The signed-in member has no role on any sponsored ad account.")
