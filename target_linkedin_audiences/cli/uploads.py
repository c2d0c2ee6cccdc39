"""`linkedin-audiences segments upload` and `segments replace`: CSV list uploads."""

from __future__ import annotations

import contextlib
import sys
import typing as t
from pathlib import Path

import click

from target_linkedin_audiences.cli.common import build_config, connected, connection_options, exit_on_error
from target_linkedin_audiences.cli.output import count_text, csv_text, format_option, json_text
from target_linkedin_audiences.cli.segments import account_option, resolve_account
from target_linkedin_audiences.errors import EXIT_INPUT
from target_linkedin_audiences.list_files import TooFewRowsError, lines_text
from target_linkedin_audiences.uploads import LIST_SEGMENT_TYPES, UploadResult, run_replace, run_upload

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from target_linkedin_audiences.list_files import ListFileReport

_F = t.TypeVar("_F", bound="Callable[..., t.Any]")

CSV_FIELDS = (
    "segment_id",
    "segment_type",
    "account",
    "created",
    "media_urn",
    "dry_run_file",
    "rows_read",
    "rows_written",
    "rows_skipped",
    "blank_lines",
    "bytes_written",
)
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def _parse_delimiter(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    delimiter = DELIMITER_NAMES.get(value.lower(), value)
    if len(delimiter) != 1 or delimiter in "\"\r\n" or delimiter.isalnum():
        raise click.BadParameter(f"expected one punctuation character or tab, such as ';', got {value!r}")
    return delimiter


def file_options(function: _F) -> _F:
    """Add `--csv`, `--delimiter`, `--encoding`, `--dry-run` and `--output`."""
    options = [
        click.option(
            "--csv",
            "csv_path",
            required=True,
            type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
            help="CSV export with a header row: emails for a USER list, company names, websites or domains for a COMPANY list.",
        ),
        click.option(
            "--delimiter",
            default=",",
            show_default=True,
            callback=_parse_delimiter,
            help="Field delimiter of the CSV file: one character, or tab, semicolon, pipe.",
        ),
        click.option(
            "--encoding",
            default=None,
            help="Text encoding of the CSV file, such as cp1252 [default: UTF-8 with or without a BOM, UTF-16 with a BOM].",
        ),
        click.option(
            "--dry-run",
            is_flag=True,
            help="Write the file that would be uploaded (see --output) and upload nothing.",
        ),
        click.option(
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Where --dry-run writes the file, which must not exist yet [default: NAME.linkedin.csv in the current directory, after the CSV file's name].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _dry_run_path(dry_run: bool, output: Path | None, csv_path: Path) -> Path | None:
    if output is not None and not dry_run:
        raise click.UsageError("--output is only used with --dry-run; an upload writes a temporary file and removes it")
    if not dry_run:
        return None
    return output or Path(f"{csv_path.stem}.linkedin.csv")


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def _progress(csv_path: Path, output_format: str) -> Iterator[Callable[[int], None] | None]:
    """Show a progress bar on stderr while the file is read, when stderr is a terminal."""
    if output_format != "table" or not _stderr_is_terminal():
        yield None
        return
    with click.progressbar(length=csv_path.stat().st_size, label=f"Reading {csv_path.name}", file=sys.stderr) as bar:
        yield bar.update


@click.command()
@account_option
@click.option("--name", required=True, help="Segment name shown in Campaign Manager.")
@click.option(
    "--type",
    "kind",
    required=True,
    type=click.Choice(sorted(LIST_SEGMENT_TYPES), case_sensitive=False),
    help="USER for a list of people (emails), COMPANY for a list of companies.",
)
@click.option("--description", help="Segment description.")
@file_options
@connection_options
@format_option
@exit_on_error
def upload(
    account: str | None,
    name: str,
    kind: str,
    description: str | None,
    csv_path: Path,
    delimiter: str,
    encoding: str | None,
    dry_run: bool,
    output: Path | None,
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    output_format: str,
) -> None:
    """Create a list-upload segment from a CSV file.

    Finds the columns by name, normalises the values and hashes emails with SHA-256 on this
    machine, writes LinkedIn's template CSV to a temporary file, uploads it, creates a
    USER_LIST_UPLOAD or COMPANY_LIST_UPLOAD segment and attaches the file. LinkedIn takes 300
    to 300,000 rows and at most 20 MB per file; both are checked before anything is sent.
    """
    name = name.strip()
    if not name:
        raise click.BadParameter("the segment name is empty", param_hint="--name")
    kind = kind.upper()
    output_format = output_format.lower()
    dry_run_path = _dry_run_path(dry_run, output, csv_path)

    if dry_run_path is not None:
        with _progress(csv_path, output_format) as progress:
            result = run_upload(
                None, csv_path, kind=kind, name=name, account_urn=account, description=description,
                delimiter=delimiter, encoding=encoding, dry_run_path=dry_run_path, progress=progress,
            )
        _finish(result, output_format)
        return

    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config) as connection, _reported_when_too_small(output_format):
        urn = resolve_account(account, connection)
        with _progress(csv_path, output_format) as progress:
            result = run_upload(
                connection.client, csv_path, kind=kind, name=name, account_urn=urn, description=description,
                delimiter=delimiter, encoding=encoding, progress=progress,
            )
    _finish(result, output_format)


def _parse_segment_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    text = value.strip()
    if not text.isdigit():
        raise click.BadParameter(f"a segment id is a number, such as the ID column of `segments list`; got {value!r}")
    return str(int(text))


@click.command()
@click.argument("segment_id", callback=_parse_segment_id)
@file_options
@connection_options
@format_option
@exit_on_error
def replace(
    segment_id: str,
    csv_path: Path,
    delimiter: str,
    encoding: str | None,
    dry_run: bool,
    output: Path | None,
    config_path: str | None,
    sandbox: bool,
    sandbox_db: str | None,
    output_format: str,
) -> None:
    """Replace the file of an existing list-upload segment with a new CSV file.

    The segment's type (USER_LIST_UPLOAD or COMPANY_LIST_UPLOAD) decides which columns are
    read. The file is prepared and checked as for `segments upload`; --dry-run reads the
    segment but uploads nothing.
    """
    output_format = output_format.lower()
    dry_run_path = _dry_run_path(dry_run, output, csv_path)
    config = build_config(config_path, sandbox, sandbox_db)
    with connected(config) as connection, _reported_when_too_small(output_format):
        assert connection.client is not None  # connected() requires a token
        with _progress(csv_path, output_format) as progress:
            result = run_replace(
                connection.client, csv_path, segment_id,
                delimiter=delimiter, encoding=encoding, dry_run_path=dry_run_path, progress=progress,
            )
    _finish(result, output_format)


# Output


@contextlib.contextmanager
def _reported_when_too_small(output_format: str) -> Iterator[None]:
    """Print the file's report before the error of a file under LinkedIn's 300-row minimum."""
    try:
        yield
    except TooFewRowsError as exc:
        click.echo(_report_text(exc.report), err=True)
        raise


def _finish(result: UploadResult, output_format: str) -> None:
    """Print the result; exit with EXIT_INPUT after a dry run whose file LinkedIn would reject."""
    if output_format == "json":
        click.echo(json_text(result.as_dict()))
    elif output_format == "csv":
        click.echo(csv_text([result.as_dict()], CSV_FIELDS), nl=False)
    else:
        click.echo(_result_text(result))

    problem = result.report.limit_problem()
    if result.dry_run_path is not None and problem:
        click.echo(f"Error: {problem}; LinkedIn would reject this file", err=True)
        sys.exit(EXIT_INPUT)


def _result_text(result: UploadResult) -> str:
    report = result.report
    if result.dry_run_path is not None:
        first = f"Dry run: wrote {count_text(report.rows_written)} rows to {result.dry_run_path}; nothing was uploaded."
    elif result.created:
        first = (
            f"Created list-upload segment {result.segment_id} ({result.segment_type}) named {result.segment_name!r} "
            f"in {result.account_urn} and attached {result.media_urn}."
        )
    else:
        first = f"Replaced the file of segment {result.segment_id} ({result.segment_type}) with {result.media_urn}."
    lines = [first]
    if result.dry_run_path is None:
        lines.append(
            "LinkedIn takes up to 48 hours to process a list; run `linkedin-audiences segments status` to follow it."
        )
    lines.append("")
    lines.append(_report_text(report))
    return "\n".join(lines)


def _report_text(report: ListFileReport) -> str:
    label_width = 17

    def line(label: str, value: str) -> str:
        return f"{label:<{label_width}}{value}"

    lines = [
        line("Rows read", count_text(report.rows_read)),
        line("Rows written", count_text(report.rows_written)),
        line("Rows skipped", count_text(report.rows_skipped)),
    ]
    for reason, tally in sorted(report.skipped.items(), key=lambda item: -item[1].count):
        lines.append(f"  {reason}: {count_text(tally.count)} ({lines_text(tally)}): {tally.detail}")
    if report.blank_lines:
        lines.append(line("Blank lines", count_text(report.blank_lines)))
    if report.kind == "USER":
        emails = (
            f"{count_text(report.emails_hashed_here)} hashed here, "
            f"{count_text(report.emails_already_hashed)} already SHA-256"
        )
        lines.append(line("Emails", emails))
    lines.append(line("Columns", ", ".join(f"{template} <- {header!r}" for template, header in report.columns)))
    if report.ignored_columns:
        lines.append(line("Ignored columns", ", ".join(repr(header) for header in report.ignored_columns)))
    for warning in report.warnings():
        lines.append(f"Warning: {warning}")
    return "\n".join(lines)
