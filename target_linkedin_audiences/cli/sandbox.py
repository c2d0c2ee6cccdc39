"""`linkedin-audiences sandbox`: run the local LinkedIn API emulator."""

from __future__ import annotations

import click


@click.group()
def sandbox() -> None:
    """Run the local LinkedIn API sandbox."""
