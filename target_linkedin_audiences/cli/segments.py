"""`linkedin-audiences segments`."""

from __future__ import annotations

import click


@click.group()
def segments() -> None:
    """List DMP segments and read their status and match metrics."""
