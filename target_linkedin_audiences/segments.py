"""DMP segments: find by the partner's stable key, create when missing, read status and counts."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import typing as t

from target_linkedin_audiences.client import encode_value
from target_linkedin_audiences.errors import ConflictError

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from target_linkedin_audiences.client import LinkedInClient

logger = logging.getLogger(__name__)

SEGMENTS_PATH = "/rest/dmpSegments"
# LinkedIn's docs require a wait of at least 5 seconds between creating a segment and writing to it.
CREATE_TO_WRITE_DELAY_SECONDS = 5.0
# A new segment can still return 404 for a minute or two, so member writes retry 404 that long.
NEW_SEGMENT_NOT_FOUND_RETRY_SECONDS = 120.0
MEMBER_PATHS = {"USER": "users", "COMPANY": "companies"}


@dataclasses.dataclass(frozen=True)
class SegmentRef:
    """A DMP segment the target writes to."""

    id: str
    name: str
    segment_type: str
    created: bool
    # time.monotonic() when this process created the segment, else None.
    created_at: float | None = None

    @property
    def members_path(self) -> str:
        return f"{SEGMENTS_PATH}/{self.id}/{MEMBER_PATHS[self.segment_type]}"


class SegmentService:
    """Find, create and read DMP segments of one sponsored ad account."""

    def __init__(self, client: LinkedInClient, account_urn: str, source_platform: str) -> None:
        self.client = client
        self.account_urn = account_urn
        self.source_platform = source_platform
        self._lock = threading.Lock()

    def find(self, source_segment_id: str, segment_type: str) -> dict | None:
        """Return the account's segment with this `sourceSegmentId` and type, or None."""
        params = [
            ("q", "account"),
            ("account", encode_value(self.account_urn)),
            ("sourcePlatform", encode_value(self.source_platform)),
            ("sourceSegmentId", encode_value(source_segment_id)),
        ]
        for element in self.client.find_all(SEGMENTS_PATH, params):
            # LinkedIn filters by key on the server. The type is checked here too, because someone
            # may have reused the key by hand for a segment of the other type.
            if element.get("type") == segment_type and element.get("sourceSegmentId", source_segment_id) == source_segment_id:
                return element
        return None

    def find_or_create(self, *, name: str, segment_type: str, source_segment_id: str, description: str | None = None) -> SegmentRef:
        """Return the segment for `source_segment_id`, creating it when the account has none."""
        with self._lock:
            existing = self.find(source_segment_id, segment_type)
            if existing is not None:
                logger.info("Using DMP segment %s (%s) for key %s", existing["id"], segment_type, source_segment_id)
                return SegmentRef(str(existing["id"]), existing.get("name", name), segment_type, created=False)

            entity: dict[str, t.Any] = {
                "name": name,
                "account": self.account_urn,
                "type": segment_type,
                "sourcePlatform": self.source_platform,
                "sourceSegmentId": source_segment_id,
                "destinations": [{"destination": "LINKEDIN"}],
            }
            if description:
                entity["description"] = description
            try:
                segment_id = self.client.create(SEGMENTS_PATH, entity)
            except ConflictError:
                # Another run created the same key between the lookup and the create.
                existing = self.find(source_segment_id, segment_type)
                if existing is None:
                    raise
                logger.info("DMP segment for key %s was created concurrently; using %s", source_segment_id, existing["id"])
                return SegmentRef(str(existing["id"]), existing.get("name", name), segment_type, created=False)

            logger.info("Created DMP segment %s (%s) named %r for key %s", segment_id, segment_type, name, source_segment_id)
            return SegmentRef(segment_id, name, segment_type, created=True, created_at=time.monotonic())

    def get(self, segment_id: str) -> dict:
        return self.client.get(f"{SEGMENTS_PATH}/{segment_id}")

    def list(self, *, source_platform: str | None = None) -> Iterator[dict]:
        """Yield every DMP segment of the account, all pages."""
        params = [("q", "account"), ("account", encode_value(self.account_urn))]
        if source_platform:
            params.append(("sourcePlatform", encode_value(source_platform)))
        yield from self.client.find_all(SEGMENTS_PATH, params)


def wait_until_writable(segment: SegmentRef, delay_seconds: float = CREATE_TO_WRITE_DELAY_SECONDS) -> None:
    """Sleep out what is left of LinkedIn's wait between creating a segment and writing to it."""
    if segment.created_at is None:
        return
    remaining = segment.created_at + delay_seconds - time.monotonic()
    if remaining > 0:
        logger.info("Waiting %.1f s before writing to new DMP segment %s", remaining, segment.id)
        time.sleep(remaining)
