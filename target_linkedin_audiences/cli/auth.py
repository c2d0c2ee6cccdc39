"""`linkedin-audiences auth`."""

from __future__ import annotations

import click


@click.group()
def auth() -> None:
    """Sign in to LinkedIn and manage the OAuth tokens."""
