"""The `linkedin-audiences` admin CLI: one module per command group."""

from __future__ import annotations

import click

from target_linkedin_audiences import __version__
from target_linkedin_audiences.cli.accounts import accounts
from target_linkedin_audiences.cli.auth import auth
from target_linkedin_audiences.cli.common import configure_logging
from target_linkedin_audiences.cli.ledger import ledger
from target_linkedin_audiences.cli.sandbox import sandbox
from target_linkedin_audiences.cli.segments import segments
from target_linkedin_audiences.cli.uploads import replace, upload


@click.group()
@click.version_option(__version__, prog_name="linkedin-audiences")
@click.option("-v", "--verbose", is_flag=True, help="Log debug lines on stderr.")
def main(verbose: bool) -> None:
    """Administer LinkedIn Matched Audiences: sign-in, accounts, segments and uploads."""
    configure_logging(verbose)


main.add_command(auth)
main.add_command(accounts)
main.add_command(segments)
main.add_command(ledger)
main.add_command(sandbox)
segments.add_command(upload)
segments.add_command(replace)
