"""Turn a CSV export into a LinkedIn list-upload file: find columns, normalise, hash, check limits.

The input is read as a stream (see `csv_input`). Memory stays bounded by the longest record and
by the duplicate check, which keeps a 128-bit key per written row and stops at LinkedIn's
300,000-row limit. `MemberMapper`, the target's own mapping, hashes each email before its row
is written, so no plaintext email reaches the output, a message or a log line. Messages name
lines and columns, never values.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
import typing as t

from target_linkedin_audiences.csv_columns import ColumnMap, find_columns, looked_for, template_row
from target_linkedin_audiences.csv_input import (
    LineCounter,
    ListFileError,
    open_lines,
    open_source,
    read_records,
)
from target_linkedin_audiences.errors import scrub_text
from target_linkedin_audiences.members import GOOGLE_AID, SHA512_EMAIL, MappedMember, MemberMapper

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "MIN_ROWS",
    "ListFileError",
    "ListFileReport",
    "TooFewRowsError",
    "open_source",
    "write_list_file",
]

logger = logging.getLogger(__name__)

# LinkedIn's list-upload limits (LinkedIn Help a1489764): at least 300 rows, at most 20 MB or
# 300,000 records per file.
MIN_ROWS = 300
MAX_ROWS = 300_000
MAX_FILE_BYTES = 20 * 1024 * 1024
# Line numbers kept per skip reason and per blanked column, for the report.
EXAMPLE_LINES = 5
DELIMITERS = (",", ";", "\t", "|")

# Skip reasons of rows that are not written, besides MemberMapper's SKIP_REASONS.
DUPLICATE = "duplicate"
WRONG_FIELD_COUNT = "wrong_field_count"
SHA512_ONLY = "sha512_email"
_PROPERTY_WORD_RE = re.compile(r"\bpropert(y|ies)\b")


class TooFewRowsError(ListFileError):
    """A complete list file with fewer rows than LinkedIn's minimum, and its report of skipped rows."""

    def __init__(self, message: str, report: ListFileReport) -> None:
        super().__init__(message)
        self.report = report


@dataclasses.dataclass
class LineTally:
    """How often something happened, the first line numbers, and one detail without values."""

    count: int = 0
    lines: list[int] = dataclasses.field(default_factory=list)
    detail: str = ""

    def add(self, line: int, detail: str = "") -> None:
        self.count += 1
        if len(self.lines) < EXAMPLE_LINES:
            self.lines.append(line)
        if not self.detail:
            self.detail = detail

    def as_dict(self) -> dict[str, t.Any]:
        return {"count": self.count, "lines": self.lines, "detail": self.detail}


@dataclasses.dataclass
class ListFileReport:
    """Counts of the rows `write_list_file` read, wrote and skipped, with the reasons and columns."""

    kind: str
    columns: list[tuple[str, str]]
    ignored_columns: list[str]
    rows_read: int = 0
    rows_written: int = 0
    blank_lines: int = 0
    bytes_written: int = 0
    emails_hashed_here: int = 0
    emails_already_hashed: int = 0
    skipped: dict[str, LineTally] = dataclasses.field(default_factory=dict)
    # CSV header of a column -> its invalid values, which were written as blank.
    blanked: dict[str, LineTally] = dataclasses.field(default_factory=dict)

    @property
    def rows_skipped(self) -> int:
        return sum(tally.count for tally in self.skipped.values())

    def warnings(self) -> list[str]:
        """Return warnings about the file that do not stop an upload."""
        found = []
        if self.emails_hashed_here and self.emails_already_hashed:
            digests = _count_noun(self.emails_already_hashed, "row")
            plain = _count_noun(self.emails_hashed_here, "row")
            found.append(
                f"the email column mixes SHA-256 digests ({digests}) and plain addresses ({plain}, hashed "
                "here); both are uploaded as digests, but a mixed column often comes from a broken export, "
                "so check the source"
            )
        for header, tally in self.blanked.items():
            found.append(
                f"column {header!r} has {_count_noun(tally.count, 'invalid value')}, written as blank "
                f"({lines_text(tally)})"
            )
        return found

    def limit_problem(self) -> str | None:
        """Return why LinkedIn would reject the file for its size, or None."""
        if self.rows_written < MIN_ROWS:
            return (
                f"only {self.rows_written:,} rows were written and LinkedIn needs at least "
                f"{MIN_ROWS} per list upload"
            )
        return None

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_skipped": self.rows_skipped,
            "blank_lines": self.blank_lines,
            "skipped": {reason: tally.as_dict() for reason, tally in self.skipped.items()},
            "columns": dict(self.columns),
            "ignored_columns": self.ignored_columns,
            "emails": {"hashed_here": self.emails_hashed_here, "already_hashed": self.emails_already_hashed},
            "blanked": {header: {"count": tally.count, "lines": tally.lines} for header, tally in self.blanked.items()},
            "bytes_written": self.bytes_written,
            "warnings": self.warnings(),
        }


def _count_noun(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def lines_text(tally: LineTally) -> str:
    """Name the line numbers of a tally: "line 7", or "lines 7, 9, ..." when there are more."""
    text = ", ".join(str(line) for line in tally.lines)
    if tally.count > len(tally.lines):
        return f"lines {text}, ..."
    return f"{'line' if len(tally.lines) == 1 else 'lines'} {text}"


def _check_header(
    header: list[str], raw_line: str, delimiter: str, kind: str, columns: ColumnMap, line: int
) -> None:
    """Raise a ListFileError when the header row gives no identifying column for `kind`."""
    try:
        MemberMapper(kind, {field: columns.headers[index] for field, index in columns.fields.items()})
    except ValueError:
        pass
    else:
        return

    if len(header) == 1:
        for other in DELIMITERS:
            if other != delimiter and other in raw_line:
                option_value = "\\t" if other == "\t" else other
                raise ListFileError(
                    f"line {line}: the header has one column with delimiter {delimiter!r} but contains "
                    f"{option_value!r}; pass --delimiter '{option_value}' for this file"
                )
    if "@" in raw_line:
        # The first line is data, so its values are not repeated in the message.
        raise ListFileError(
            f"line {line} contains an email address, so the file has no header row; add a first line "
            "with column names, such as email"
        )
    other = "COMPANY" if kind == "USER" else "USER"
    hint = ""
    if find_columns(header, other).fields.keys() & {"email", "companyName", "companyWebsiteDomain"}:
        hint = f"; the columns fit a {other} list, so check --type"
    found = ", ".join(repr(scrub_text(name, 60)) for name in columns.headers) or "none"
    raise ListFileError(
        f"line {line}: no usable column for a {kind} list; found columns {found}; looked for "
        f"{looked_for(kind)}{hint}"
    )


def _record_keys(columns: ColumnMap) -> dict[str, str]:
    """Return member field -> record key, one unique key per used column (its header)."""
    keys: dict[str, str] = {}
    used_keys: set[str] = set()
    for field, index in columns.fields.items():
        key = columns.headers[index] or f"column {index + 1}"
        while key in used_keys:
            key += " "
        used_keys.add(key)
        keys[field] = key
    return keys


def _column_wording(detail: str) -> str:
    """Reword a MemberMapper skip detail for CSV users: its "property" is a column here."""
    return _PROPERTY_WORD_RE.sub(lambda match: "column" if match.group(1) == "y" else "columns", detail)


def write_list_file(
    source: t.BinaryIO,
    destination: t.BinaryIO,
    kind: str,
    *,
    delimiter: str = ",",
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ListFileReport:
    """Read a CSV export from `source` and write its members to `destination` as a template CSV.

    Args:
        source: The CSV export, opened in binary mode.
        destination: Where the template CSV goes, opened in binary mode; written as UTF-8.
        kind: `USER` or `COMPANY`.
        delimiter: The field delimiter of `source`.
        encoding: The text encoding of `source`. None reads UTF-8, with or without a BOM, and
            UTF-16 when the file starts with its byte order mark.
        progress: Called with the number of bytes of each line read.

    Raises:
        ListFileError: the file is not readable as CSV, has no usable column, or contains more
            rows or bytes than LinkedIn takes. A file with too few rows is not an error here;
            see `ListFileReport.limit_problem`.
    """
    lines = LineCounter(open_lines(source, encoding, progress))
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    return _convert(read_records(reader, lines), lines, destination, kind, delimiter)


def _convert(
    records: Iterator[tuple[int, list[str]]],
    lines: LineCounter,
    destination: t.BinaryIO,
    kind: str,
    delimiter: str,
) -> ListFileReport:
    blank_before_header = 0
    header = None
    for header_line, values in records:
        if any(value.strip() for value in values):
            header = [value.replace("\ufeff", "") for value in values]
            break
        blank_before_header += 1
    if header is None:
        raise ListFileError("the file is empty; the first line must hold column names, such as email")

    columns = find_columns(header, kind)
    _check_header(header, lines.text, delimiter, kind, columns, header_line)
    keys = _record_keys(columns)
    mapper = MemberMapper(kind, keys)
    template_headers = columns.template_headers

    report = ListFileReport(kind, columns.describe(), columns.ignored_headers, blank_lines=blank_before_header)
    selected = [(key, columns.fields[field]) for field, key in keys.items()]
    width = len(header)
    # 128 bits of each written member's key: collisions are negligible at 300,000 rows.
    seen: set[int] = set()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    writer.writerow(template_headers)
    report.bytes_written += _flush(buffer, destination)

    for line, values in records:
        if not any(value.strip() for value in values):
            report.blank_lines += 1
            continue
        report.rows_read += 1
        if len(values) != width:
            detail = f"{_count_noun(len(values), 'field')} where the header has {width}"
            if len(values) > width:
                detail += f"; quote values that contain {delimiter!r}"
            _skip(report, WRONG_FIELD_COUNT, line, detail)
            continue

        record = {key: values[index] for key, index in selected}
        mapped = mapper.map(record)
        if not isinstance(mapped, MappedMember):
            _skip(report, mapped.reason, line, _column_wording(mapped.detail))
            continue
        if not _drop_sha512(mapped, report, line, columns):
            continue

        digest = int(mapped.key[:32], 16)
        if digest in seen:
            _skip(report, DUPLICATE, line, "the same member as an earlier row")
            continue
        if report.rows_written >= MAX_ROWS:
            raise ListFileError(
                f"line {line}: more than {MAX_ROWS:,} members; LinkedIn takes at most {MAX_ROWS:,} rows "
                "per list upload, so split the file"
            )
        seen.add(digest)

        _count_email(mapped, report)
        for field in mapped.invalid_fields:
            report.blanked.setdefault(columns.header_of(field), LineTally()).add(line)

        writer.writerow(template_row(kind, template_headers, mapped.element))
        report.bytes_written += _flush(buffer, destination)
        report.rows_written += 1
        if report.bytes_written > MAX_FILE_BYTES:
            raise ListFileError(
                f"line {line}: the upload file passed {MAX_FILE_BYTES // 1024 // 1024} MB; LinkedIn takes "
                "at most 20 MB per list upload, so split the file"
            )

    logger.info(
        "Wrote a %s list file: %d rows read, %d written, %d skipped, %d blank lines",
        kind, report.rows_read, report.rows_written, report.rows_skipped, report.blank_lines,
    )
    # The commands print these warnings with the counts, so the log keeps them at INFO.
    for warning in report.warnings():
        logger.info("List file warning: %s", warning)
    return report


def _flush(buffer: io.StringIO, destination: t.BinaryIO) -> int:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    destination.write(data)
    return len(data)


def _skip(report: ListFileReport, reason: str, line: int, detail: str) -> None:
    report.skipped.setdefault(reason, LineTally()).add(line, detail)


def _drop_sha512(mapped: MappedMember, report: ListFileReport, line: int, columns: ColumnMap) -> bool:
    """Remove a SHA-512 email id, which list uploads do not take; False when no id is left."""
    user_ids = mapped.element.get("userIds")
    if not user_ids or not any(user_id["idType"] == SHA512_EMAIL for user_id in user_ids):
        return True
    column = columns.header_of("email")
    remaining_ids = [user_id for user_id in user_ids if user_id["idType"] != SHA512_EMAIL]
    if not remaining_ids:
        _skip(
            report,
            SHA512_ONLY,
            line,
            f"column {column!r} contains a SHA-512 digest; list uploads take plain emails or SHA-256 digests",
        )
        return False
    mapped.element["userIds"] = remaining_ids
    mapped.prehashed = False
    report.blanked.setdefault(column, LineTally()).add(line)
    return True


def _count_email(mapped: MappedMember, report: ListFileReport) -> None:
    user_ids = mapped.element.get("userIds") or ()
    if not any(user_id["idType"] != GOOGLE_AID for user_id in user_ids):
        return
    if mapped.prehashed:
        report.emails_already_hashed += 1
    else:
        report.emails_hashed_here += 1
