"""Output of the `segments` commands: segment fields for JSON and CSV, and text for people.

Every number comes from LinkedIn's own segment fields through `metrics.py`, the definitions the
target's end-of-run report uses too.
"""

from __future__ import annotations

import textwrap
import typing as t

from target_linkedin_audiences.cli.output import (
    Column,
    count_text,
    epoch_ms_iso,
    epoch_ms_text,
    percent_text,
    render_table,
    terminal_width,
    truncate,
    yes_no,
)
from target_linkedin_audiences.metrics import SegmentMetrics, metrics_from_segment, next_step

if t.TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable, Sequence

SEGMENT_FIELDS = (
    "id",
    "name",
    "type",
    "source_platform",
    "status",
    "input_count",
    "matched_count",
    "match_rate",
    "audience_size",
    "ready_to_serve",
    "not_ready_reason",
    "destination_segment_id",
    "last_modified",
)
# Decimal places of match_rate in JSON and CSV.
MATCH_RATE_DIGITS = 4

LIST_COLUMNS = (
    Column("id", "ID"),
    Column("name", "NAME", shrink=True, min_width=12),
    Column("type", "TYPE", drop_order=3),
    Column("source_platform", "SOURCE", drop_order=1),
    Column("status", "STATUS"),
    Column("input_count", "INPUT", render=count_text, align="right"),
    Column("matched_count", "MATCHED", render=count_text, align="right"),
    Column("match_rate", "RATE", render=percent_text, align="right"),
    Column("audience_size", "AUDIENCE", render=count_text, align="right"),
    Column("ready_to_serve", "READY", render=yes_no),
    Column("last_modified_ms", "MODIFIED (UTC)", render=epoch_ms_text, drop_order=2),
)
STATUS_COLUMNS = (
    Column("id", "ID"),
    Column("name", "NAME", shrink=True, min_width=12),
    Column("status", "STATUS"),
    Column("input_count", "INPUT", render=count_text, align="right"),
    Column("matched_count", "MATCHED", render=count_text, align="right"),
    Column("match_rate", "RATE", render=percent_text, align="right"),
    Column("audience_size", "AUDIENCE", render=count_text, align="right"),
    Column("ready_to_serve", "READY", render=yes_no),
)


def segment_row(metrics: SegmentMetrics) -> dict[str, t.Any]:
    """Return the JSON and CSV fields of a segment, plus `last_modified_ms` for the table."""
    row = metrics.as_dict()
    if metrics.match_rate is not None:
        row["match_rate"] = round(metrics.match_rate, MATCH_RATE_DIGITS)
    row["last_modified"] = epoch_ms_iso(metrics.last_modified)
    row["last_modified_ms"] = metrics.last_modified
    return row


def public_fields(row: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: row[key] for key in SEGMENT_FIELDS}


# segments show


def segment_detail(segment: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Return every field `segments show` reports, in output order."""
    metrics = metrics_from_segment(segment)
    row = public_fields(segment_row(metrics))
    destinations = []
    for destination in _destinations(segment):
        destinations.append(
            {
                "destination": destination.get("destination"),
                "destination_segment_id": destination.get("destinationSegmentId"),
                "status": destination.get("status"),
                "matched_count": destination.get("matchedCount"),
                "audience_size": destination.get("audienceSize"),
                "created": epoch_ms_iso(_int(destination.get("created"))),
                "last_modified": epoch_ms_iso(_int(destination.get("lastModified"))),
            }
        )
    return {
        **row,
        "account": segment.get("account"),
        "description": segment.get("description"),
        "source_segment_id": segment.get("sourceSegmentId"),
        "created": epoch_ms_iso(_int(segment.get("created"))),
        "status_explanation": metrics.explanation,
        "next_step": next_step(metrics),
        "destinations": destinations,
    }


def render_detail(segment: t.Mapping[str, t.Any]) -> str:
    """Render `segments show` for people: labelled lines, wrapped prose, then each destination."""
    detail = segment_detail(segment)
    metrics = metrics_from_segment(segment)
    width = terminal_width()
    label_width = 20

    def line(label: str, value: t.Any) -> str:
        text = "-" if value is None else str(value)
        wrapped = textwrap.wrap(text, width=max(width - label_width, 20)) or [text]
        return f"{label:<{label_width}}" + ("\n" + " " * label_width).join(wrapped)

    def prose(text: str) -> list[str]:
        return textwrap.wrap(text, width=max(width - 2, 40), initial_indent="  ", subsequent_indent="  ")

    rate = "-" if metrics.match_rate is None else f"{percent_text(metrics.match_rate)} (matched over input, last 7 days)"
    lines = [
        line("Segment", detail["id"]),
        line("Name", detail["name"]),
        line("Account", detail["account"]),
        line("Type", detail["type"]),
        line("Source platform", detail["source_platform"]),
        line("Source segment id", detail["source_segment_id"]),
        line("Description", detail["description"]),
        line("Created", detail["created"]),
        line("Modified", detail["last_modified"]),
        "",
        line("Status", detail["status"]),
        *prose(metrics.explanation),
        line("Input count", _count(metrics.input_count)),
        line("Matched count", _count(metrics.matched_count)),
        line("Match rate", rate),
        line("Audience size", _count(metrics.audience_size)),
        line("Ready to serve", "yes" if metrics.ready_to_serve else f"no, {metrics.not_ready_reason}"),
    ]
    advice = next_step(metrics)
    if advice:
        lines.extend(prose(advice))

    for destination in detail["destinations"]:
        lines.append("")
        lines.append(f"Destination {destination['destination'] or '-'}")
        lines.append(line("  Ad segment", destination["destination_segment_id"]))
        lines.append(line("  Status", destination["status"]))
        lines.append(line("  Matched count", _count(destination["matched_count"])))
        lines.append(line("  Audience size", _count(destination["audience_size"])))
        lines.append(line("  Created", destination["created"]))
        lines.append(line("  Modified", destination["last_modified"]))
    if not detail["destinations"]:
        lines.append("")
        lines.append(line("Destinations", "none"))
    return "\n".join(lines)


# segments status


def render_status(found: Sequence[SegmentMetrics], urn: str, checked_at: datetime.datetime, heading_suffix: str = "") -> str:
    """Render `segments status` for people: a heading, the table, a summary and each not-ready reason."""
    width = terminal_width()
    lines = [f"Segments of {urn} at {checked_at.strftime('%Y-%m-%d %H:%M:%S')} UTC{heading_suffix}", ""]
    if found:
        lines.append(render_table([segment_row(metrics) for metrics in found], STATUS_COLUMNS))
        lines.append("")
    lines.append(summary_text(found))
    for metrics in found:
        if not metrics.ready_to_serve:
            reason = metrics.not_ready_reason or ""
            prefix = f"  {metrics.segment_id} "
            name_width = max(width - len(prefix) - len(reason) - 2, 12)
            lines.append(f"{prefix}{truncate(metrics.name, name_width)}: {reason}")
    return "\n".join(lines)


def status_summary(found: Iterable[SegmentMetrics]) -> dict[str, t.Any]:
    """Count segments, those ready to serve, and segments per status."""
    found = list(found)
    by_status: dict[str, int] = {}
    for metrics in found:
        key = metrics.status or "UNKNOWN"
        by_status[key] = by_status.get(key, 0) + 1
    return {
        "segments": len(found),
        "ready_to_serve": sum(1 for metrics in found if metrics.ready_to_serve),
        "by_status": dict(sorted(by_status.items())),
    }


def summary_text(found: Sequence[SegmentMetrics]) -> str:
    """Summarise segments per status and how many can serve, as one sentence."""
    summary = status_summary(found)
    if not summary["segments"]:
        return "No segments."
    statuses = ", ".join(f"{count} {status}" for status, count in summary["by_status"].items())
    noun = "segment" if summary["segments"] == 1 else "segments"
    text = f"{summary['segments']} {noun} ({statuses}); {summary['ready_to_serve']} ready to serve."
    not_ready = summary["segments"] - summary["ready_to_serve"]
    if not_ready:
        text += " Not ready:"
    return text


def _count(value: int | None) -> str | None:
    return None if value is None else count_text(value)


def _int(value: t.Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _destinations(segment: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    return [destination for destination in segment.get("destinations") or [] if isinstance(destination, dict)]
