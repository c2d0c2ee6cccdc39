"""Rendering of command results as a plain-text table, JSON or CSV.

Tables fit the terminal's width (80 columns when stdout is not a terminal): the widest free-text
column is cut with "..." first, and when that is not enough, low-priority columns are left out.
JSON and CSV always carry every field, with the same keys.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import shutil
import typing as t

import click

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

FORMATS = ("table", "json", "csv")
DEFAULT_WIDTH = 80
COLUMN_GAP = 2
ELLIPSIS = "..."
MISSING = "-"

_F = t.TypeVar("_F", bound="Callable[..., t.Any]")


def format_option(function: _F) -> _F:
    """Add `--format table|json|csv` to a command."""
    option = click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS, case_sensitive=False),
        default="table",
        show_default=True,
        help="table for people (fits the terminal), json or csv for scripts (every field).",
    )
    return option(function)


@dataclasses.dataclass(frozen=True)
class Column:
    """One table column.

    `key` names the row field and `header` the column title. `render` turns the field into
    text. A column with `shrink` set is cut to fit, down to `min_width` characters. Columns
    with a `drop_order` are left out when the table is too wide, lowest number first.
    """

    key: str
    header: str
    render: Callable[[t.Any], str] = str
    align: str = "left"
    shrink: bool = False
    min_width: int = 10
    drop_order: int | None = None


def terminal_width() -> int:
    """Return the terminal's width in columns: `COLUMNS` when set, else 80 when stdout is no terminal."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def render_table(rows: Sequence[Mapping[str, t.Any]], columns: Sequence[Column], width: int | None = None) -> str:
    """Render `rows` as an aligned plain-text table no wider than `width` where possible."""
    width = terminal_width() if width is None else width
    cells = [[_cell(column, row) for column in columns] for row in rows]
    natural = [max([len(column.header), *(len(line[index]) for line in cells)]) for index, column in enumerate(columns)]

    visible = list(range(len(columns)))
    widths = _fit(columns, natural, visible, width)
    droppable = sorted((c.drop_order, i) for i, c in enumerate(columns) if c.drop_order is not None)
    while _total(widths, visible) > width and droppable:
        _, dropped = droppable.pop(0)
        visible.remove(dropped)
        widths = _fit(columns, natural, visible, width)

    lines = [_line([columns[i].header for i in visible], [columns[i] for i in visible], [widths[i] for i in visible])]
    for line in cells:
        lines.append(_line([line[i] for i in visible], [columns[i] for i in visible], [widths[i] for i in visible]))
    return "\n".join(lines)


def _cell(column: Column, row: Mapping[str, t.Any]) -> str:
    value = row.get(column.key)
    if value is None:
        return MISSING
    return column.render(value)


def _fit(columns: Sequence[Column], natural: list[int], visible: list[int], width: int) -> list[int]:
    """Shrink the shrinkable visible columns, widest first, until the visible ones fit `width`."""
    widths = list(natural)
    excess = _total(widths, visible) - width
    shrinkable = sorted((i for i in visible if columns[i].shrink), key=lambda i: -widths[i])
    for index in shrinkable:
        if excess <= 0:
            break
        room = widths[index] - max(columns[index].min_width, len(columns[index].header))
        cut = min(room, excess)
        if cut > 0:
            widths[index] -= cut
            excess -= cut
    return widths


def _total(widths: list[int], visible: list[int]) -> int:
    return sum(widths[i] for i in visible) + COLUMN_GAP * (len(visible) - 1)


def _line(texts: list[str], columns: list[Column], widths: list[int]) -> str:
    parts = []
    for text, column, width in zip(texts, columns, widths, strict=True):
        text = truncate(text, width)
        parts.append(text.rjust(width) if column.align == "right" else text.ljust(width))
    return (" " * COLUMN_GAP).join(parts).rstrip()


def truncate(text: str, width: int) -> str:
    """Cut `text` to `width` characters, ending in "..." when anything was cut."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    return text[: width - len(ELLIPSIS)] + ELLIPSIS


# Cell renderers


def count_text(value: int) -> str:
    """Render a count with thousands separators, such as 12,345."""
    return f"{value:,}"


def percent_text(value: float) -> str:
    """Render a ratio from 0 to 1 as a percentage with one decimal, such as 70.0%."""
    return f"{value:.1%}"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def epoch_ms_text(value: int) -> str:
    """Render LinkedIn's epoch milliseconds as a UTC time to the minute, such as 2026-12-04 19:58."""
    return _utc(value).strftime("%Y-%m-%d %H:%M")


def epoch_ms_iso(value: int | None) -> str | None:
    """Render LinkedIn's epoch milliseconds as ISO 8601 in UTC, such as 2026-12-04T19:58:53Z."""
    if value is None:
        return None
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(epoch_ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.UTC)


# Documents


def json_text(document: t.Any, *, compact: bool = False) -> str:
    """Serialise a document as JSON: indented, or on one line for JSON Lines streams."""
    if compact:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(document, indent=2, ensure_ascii=False)


def csv_text(rows: Iterable[Mapping[str, t.Any]], fieldnames: Sequence[str], *, header: bool = True) -> str:
    """Serialise rows as CSV with the given columns, writing None as empty and booleans as true or false."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator="\n", extrasaction="ignore")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({key: _csv_value(row.get(key)) for key in fieldnames})
    return buffer.getvalue()


def _csv_value(value: t.Any) -> t.Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return value
