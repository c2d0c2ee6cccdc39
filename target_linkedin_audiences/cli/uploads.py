"""`linkedin-audiences segments upload` and `segments replace`: CSV list uploads."""

from __future__ import annotations

import click


@click.command()
def upload() -> None:
    """Create a list-upload segment from a CSV file."""
    raise click.ClickException("not built yet")


@click.command()
def replace() -> None:
    """Replace the file of an existing list-upload segment."""
    raise click.ClickException("not built yet")
