"""Run-wide delivery bookkeeping: reject and dry-run files, per-stream counters, the state gate.

STATE may leave the target only when every record before it was accepted by LinkedIn or written
to the reject file with its reason. `RunContext.state_blocker` returns why it may not.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import threading
import typing as t

if t.TYPE_CHECKING:
    from target_linkedin_audiences.client import LinkedInClient
    from target_linkedin_audiences.ledger import Ledger
    from target_linkedin_audiences.segments import SegmentService

logger = logging.getLogger(__name__)


class JsonlWriter:
    """Append-only JSONL file created with mode 0600, opened on first write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: t.IO[str] | None = None
        self._lock = threading.Lock()
        self.lines_written = 0

    def write_many(self, rows: t.Iterable[dict]) -> None:
        """Append rows and flush them to the operating system."""
        with self._lock:
            if self._file is None:
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                self._file = os.fdopen(descriptor, "a", encoding="utf-8")
            for row in rows:
                self._file.write(json.dumps(row, separators=(",", ":"), sort_keys=True))
                self._file.write("\n")
                self.lines_written += 1
            self._file.flush()

    def sync(self) -> None:
        """Force written rows to disk, so state never runs ahead of a reject record."""
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None


@dataclasses.dataclass
class StreamStats:
    """Counters of one stream across the sinks the SDK creates for it."""

    received: int = 0
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    # Optional fields left out of otherwise valid members, e.g. an unknown country.
    dropped_fields: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    prehashed: int = 0
    duplicates_merged: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    requests: int = 0
    removals_requested: int = 0

    @property
    def skipped_without_identifier(self) -> int:
        return self.skipped["no_identifier"]

    @property
    def invalid(self) -> int:
        return sum(count for reason, count in self.skipped.items() if reason != "no_identifier")

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "received": self.received,
            "skipped_without_identifier": self.skipped_without_identifier,
            "invalid": self.invalid,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "dropped_fields": dict(sorted(self.dropped_fields.items())),
            "prehashed": self.prehashed,
            "duplicates_merged": self.duplicates_merged,
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "requests": self.requests,
        }


@dataclasses.dataclass
class SegmentTouch:
    """A segment this run wrote to, for the end-of-run report."""

    segment_id: str
    segment_type: str
    stream_name: str
    sent: int = 0
    removals: int = 0


class RunContext:
    """Everything sinks of one run share: the API client, segment lookups, files and counters."""

    def __init__(
        self,
        *,
        client: LinkedInClient | None,
        segments: SegmentService | None,
        rejects: JsonlWriter,
        dry_run_writer: JsonlWriter | None,
        ledger: Ledger | None = None,
        run_id: str = "",
        mirror: bool = False,
    ) -> None:
        self.client = client
        self.segments = segments
        self.rejects = rejects
        self.dry_run_writer = dry_run_writer
        self.ledger = ledger
        self.run_id = run_id
        self.mirror = mirror
        # Every sink of the run, including those the SDK replaced after a schema change.
        self.sinks: list[t.Any] = []
        self.stream_stats: dict[str, StreamStats] = collections.defaultdict(StreamStats)
        self.touched_segments: dict[str, SegmentTouch] = {}
        self.malformed_lines = 0
        self._lock = threading.Lock()
        self._failure: str | None = None
        self._terminating_signal: int | None = None

    @property
    def dry_run(self) -> bool:
        return self.dry_run_writer is not None

    def record_failure(self, reason: str) -> None:
        """Block all further state: a batch failed and its records were not delivered."""
        with self._lock:
            if self._failure is None:
                self._failure = reason

    def record_termination(self, signal_number: int) -> None:
        with self._lock:
            self._terminating_signal = signal_number

    def state_blocker(self) -> str | None:
        """Return why STATE must not be emitted now, or None when it may be."""
        if self.dry_run:
            # Nothing was delivered, so a tap must not move its bookmark past these records.
            return "dry run: nothing was delivered to LinkedIn"
        with self._lock:
            if self._terminating_signal is not None:
                return f"termination signal {self._terminating_signal} arrived"
            if self._failure is not None:
                return self._failure
        return None

    def touch_segment(self, segment_id: str, segment_type: str, stream_name: str, sent: int, removals: int) -> None:
        with self._lock:
            touch = self.touched_segments.setdefault(
                segment_id, SegmentTouch(segment_id, segment_type, stream_name)
            )
            touch.sent += sent
            touch.removals += removals

    def close(self) -> None:
        self.rejects.close()
        if self.dry_run_writer is not None:
            self.dry_run_writer.close()
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
