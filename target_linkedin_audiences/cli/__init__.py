"""The `linkedin-audiences` admin CLI: one module per command group."""

from __future__ import annotations

import click

from target_linkedin_audiences import __version__
from target_linkedin_audiences.cli.sandbox import sandbox


@click.group()
@click.version_option(__version__, prog_name="linkedin-audiences")
def main() -> None:
    """Administer LinkedIn Matched Audiences: sign-in, accounts, segments and uploads."""


main.add_command(sandbox)
