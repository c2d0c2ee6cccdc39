"""Segment status and match metrics, defined once for the target's report and the admin CLI.

Facts from LinkedIn's Matched Audiences docs: status lives on each destination
(`destinations[].status`), `inputCount` sits on the segment root, `matchedCount` and
`audienceSize` on the destination, and counters are absent while a segment is BUILDING. A campaign
needs an audience of at least 300 members.
"""

from __future__ import annotations

import dataclasses
import typing as t

MIN_SERVABLE_AUDIENCE = 300
SERVABLE_STATUSES = frozenset({"READY", "UPDATING"})
# Statuses a campaign may still include or exclude (LinkedIn's Matched Audiences FAQ).
TARGETABLE_STATUSES = frozenset({"BUILDING", "UPDATING", "READY", "ARCHIVED"})

STATUS_EXPLANATIONS = {
    "BUILDING": (
        "LinkedIn is matching the first upload. The first build can take up to 48 hours; "
        "keep sending updates, nothing else is needed."
    ),
    "READY": "The matched audience is built and can be used in campaign targeting.",
    "UPDATING": (
        "LinkedIn is applying recent additions or removals. The segment stays usable in "
        "campaigns and returns to READY by itself."
    ),
    "ARCHIVED": (
        "No campaign used the segment for about 30 days. It still receives updates; attach it "
        "to a campaign to reactivate it."
    ),
    "EXPIRED": "The segment expired and cannot be used in campaigns. Create a new segment and sync to it.",
    "FAILED": "LinkedIn failed to build the segment and it cannot be used in campaigns. Recreate it and sync again.",
    "ERROR": "LinkedIn reports an error and the segment cannot be used in campaigns. Recreate it and sync again.",
}


@dataclasses.dataclass(frozen=True)
class SegmentMetrics:
    """Status and counts of one DMP segment, read from its LinkedIn destination."""

    segment_id: str
    name: str
    segment_type: str
    source_platform: str | None
    status: str | None
    input_count: int | None
    matched_count: int | None
    audience_size: int | None
    destination_segment_id: str | None
    last_modified: int | None

    @property
    def match_rate(self) -> float | None:
        """LinkedIn's match rate: matchedCount over inputCount, both over the last 7 days."""
        if not self.input_count or self.matched_count is None:
            return None
        return self.matched_count / self.input_count

    @property
    def ready_to_serve(self) -> bool:
        return self.not_ready_reason is None

    @property
    def not_ready_reason(self) -> str | None:
        """Say why campaigns cannot serve this segment yet, or None when they can."""
        if self.status is None:
            return "no status reported yet"
        if self.status == "BUILDING":
            return "still building (can take up to 48 hours)"
        if self.status not in SERVABLE_STATUSES:
            return f"status {self.status} cannot serve"
        if self.audience_size is None:
            return "audience size not reported yet"
        if self.audience_size < MIN_SERVABLE_AUDIENCE:
            return f"too small: audience {self.audience_size} is under {MIN_SERVABLE_AUDIENCE}"
        return None

    @property
    def explanation(self) -> str:
        return STATUS_EXPLANATIONS.get(self.status or "", "LinkedIn reported a status this tool does not know.")

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "id": self.segment_id,
            "name": self.name,
            "type": self.segment_type,
            "source_platform": self.source_platform,
            "status": self.status,
            "input_count": self.input_count,
            "matched_count": self.matched_count,
            "match_rate": self.match_rate,
            "audience_size": self.audience_size,
            "ready_to_serve": self.ready_to_serve,
            "not_ready_reason": self.not_ready_reason,
            "destination_segment_id": self.destination_segment_id,
            "last_modified": self.last_modified,
        }


def metrics_from_segment(segment: t.Mapping[str, t.Any]) -> SegmentMetrics:
    """Read metrics from a `dmpSegments` element, preferring the LINKEDIN destination."""
    destinations = segment.get("destinations") or []
    destination: t.Mapping[str, t.Any] = {}
    for candidate in destinations:
        if isinstance(candidate, dict) and candidate.get("destination", "LINKEDIN") == "LINKEDIN":
            destination = candidate
            break

    # Some vendors report status at the root, but LinkedIn's FAQ points to the destination's.
    status = destination.get("status") or segment.get("status")
    return SegmentMetrics(
        segment_id=str(segment.get("id", "")),
        name=str(segment.get("name", "")),
        segment_type=str(segment.get("type", "")),
        source_platform=segment.get("sourcePlatform"),
        status=status,
        input_count=_int_or_none(segment.get("inputCount")),
        matched_count=_int_or_none(destination.get("matchedCount")),
        audience_size=_int_or_none(destination.get("audienceSize")),
        destination_segment_id=destination.get("destinationSegmentId"),
        last_modified=_int_or_none(segment.get("lastModified")),
    )


def sent_match_rate(matched_count: int | None, sent: int, skipped: int) -> float | None:
    """Match rate over everything a run was given: members sent plus records skipped as invalid.

    LinkedIn's rate ignores records that never reached it, so bad source data hides there; this
    one drops when the source has many unusable rows.
    """
    given = sent + skipped
    if matched_count is None or given == 0:
        return None
    return min(matched_count, given) / given


def _int_or_none(value: t.Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def next_step(metrics: SegmentMetrics) -> str | None:
    """Say what makes a READY or UPDATING segment servable when its audience blocks it, else None.

    The advice for every other status is in STATUS_EXPLANATIONS.
    """
    if metrics.status not in SERVABLE_STATUSES:
        return None
    if metrics.audience_size is None:
        return "LinkedIn has not reported the audience size yet; check again in a few minutes."
    if metrics.audience_size < MIN_SERVABLE_AUDIENCE:
        return (
            f"Campaigns need an audience of at least {MIN_SERVABLE_AUDIENCE} matched members; "
            "add members to the segment, then check again."
        )
    return None
