"""`linkedin-audiences accounts`."""

from __future__ import annotations

import click


@click.group()
def accounts() -> None:
    """List the sponsored ad accounts of the signed-in member."""
