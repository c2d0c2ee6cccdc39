"""The sink: map records to members, batch them per action, send, and account for each element.

Batches are kept per action (ADD, REMOVE) and keyed by the member's hashed identifier, so a member
seen twice before its batch leaves is sent once, with its last action. A batch is sent as soon as
it contains `batch_size_rows` members, so every request but the last of a (segment, action) is
full. Full batches go to a BatchSender, whose threads post one batch while accounting for the
previous one, so reading goes on while a request is in flight. The SDK's drain at the end of the
input, at `batch_max_age_seconds` or on a schema change sends the rest and waits for every batch
in flight, and only then may the target emit STATE.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import logging
import math
import queue
import threading
import time
import typing as t
from concurrent.futures import Future

from singer_sdk.helpers._typing import get_datelike_property_type
from singer_sdk.sinks import Sink

from target_linkedin_audiences.errors import BadRequestError, LinkedInError, RemovalGuardError, scrub_text
from target_linkedin_audiences.members import MemberMapper, SkippedRecord, redact_element
from target_linkedin_audiences.segments import (
    NEW_SEGMENT_NOT_FOUND_RETRY_SECONDS,
    SegmentRef,
    wait_until_writable,
)
from target_linkedin_audiences.validation import RecordValidator

if t.TYPE_CHECKING:
    from target_linkedin_audiences.delivery import RunContext, StreamStats
    from target_linkedin_audiences.settings import SegmentPlan

logger = logging.getLogger(__name__)

ADD = "ADD"
REMOVE = "REMOVE"
# Mapped fields whose record values are personal data; a record key built from them is hashed.
PERSONAL_FIELDS = frozenset({"email", "googleAid", "firstName", "lastName"})
MAX_RECORD_KEY_LENGTH = 120
# Full batches handed to the sender and not yet confirmed: one being accounted for, one on the
# wire and one waiting, while the next fills. It bounds memory to a few batches.
MAX_BATCHES_IN_FLIGHT = 3
# The metadata properties singer-sdk 0.54 strips from records when add_record_metadata is off.
_SDC_PROPERTIES = frozenset({
    "_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at",
    "_sdc_sequence", "_sdc_table_version", "_sdc_sync_started_at",
})


@dataclasses.dataclass
class Delivery:
    """LinkedIn's per-element results of one posted batch, for the accounting thread."""

    segment: SegmentRef
    elements: list[dict]
    results: list[dict]
    elapsed_ms: float


class BatchSender:
    """Send a sink's batches in order, at most MAX_BATCHES_IN_FLIGHT unconfirmed at a time.

    Two daemon threads form a pipeline. One posts the batches, one after another. The other
    accounts for each posted batch (reject file, ledger, counters) in the same order, while the
    next batch is already on the wire. A batch is confirmed once both are done with it.

    Only the thread that submits calls `submit`, `raise_failures` and `wait`; they re-raise the
    exception of a failed batch there. After a failure the batches queued behind it are dropped
    unsent, as the run ends at that failure anyway. The threads are daemons, so the process exits
    on a termination signal without waiting for a request in flight.
    """

    def __init__(
        self,
        post: t.Callable[[str, dict], Delivery],
        account: t.Callable[[str, dict, Delivery], None],
        name: str,
    ) -> None:
        self._post = post
        self._account = account
        self._to_post: queue.SimpleQueue[tuple[Future, str, dict] | None] = queue.SimpleQueue()
        self._to_account: queue.SimpleQueue[tuple[Future, str, dict, Delivery] | None] = queue.SimpleQueue()
        self._in_flight: collections.deque[tuple[Future, int]] = collections.deque()
        # Any failure stops posting. Batches posted before a failed post are still accounted
        # for, because LinkedIn has them. A failed accounting stops the accounting too.
        self._failed = False
        self._accounting_failed = False
        self._threads = [
            threading.Thread(target=self._post_batches, name=name, daemon=True),
            threading.Thread(target=self._account_for_batches, name=f"{name}-accounts", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def elements_in_flight(self) -> int:
        return sum(size for _, size in self._in_flight)

    def submit(self, action: str, batch: dict) -> None:
        """Queue a batch, first waiting while MAX_BATCHES_IN_FLIGHT are unconfirmed."""
        self.raise_failures()
        while len(self._in_flight) >= MAX_BATCHES_IN_FLIGHT:
            future, _ = self._in_flight.popleft()
            future.result()
        future = Future()
        self._in_flight.append((future, len(batch)))
        self._to_post.put((future, action, batch))

    def raise_failures(self) -> None:
        """Forget confirmed batches and re-raise the first failure, if any."""
        while self._in_flight and self._in_flight[0][0].done():
            future, _ = self._in_flight.popleft()
            future.result()

    def wait(self) -> None:
        """Block until every submitted batch is confirmed; re-raise the first failure."""
        while self._in_flight:
            future, _ = self._in_flight.popleft()
            future.result()

    def close(self) -> None:
        self._to_post.put(None)

    def _post_batches(self) -> None:
        while True:
            item = self._to_post.get()
            if item is None:
                self._to_account.put(None)
                return
            future, action, batch = item
            if self._failed:
                future.set_result(None)
                continue
            try:
                delivery = self._post(action, batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                self._failed = True
                future.set_exception(exc)
            else:
                self._to_account.put((future, action, batch, delivery))

    def _account_for_batches(self) -> None:
        while True:
            item = self._to_account.get()
            if item is None:
                return
            future, action, batch, delivery = item
            if self._accounting_failed:
                future.set_result(None)
                continue
            try:
                self._account(action, batch, delivery)
            except BaseException as exc:  # noqa: BLE001 - handed to the submitting thread
                self._failed = self._accounting_failed = True
                future.set_exception(exc)
            else:
                future.set_result(None)


class AudienceSink(Sink):
    """Send one stream's records to its DMP segment as member ADD and REMOVE batches."""

    def __init__(self, target: t.Any, stream_name: str, schema: dict, key_properties: t.Sequence[str] | None) -> None:
        self._run: RunContext = target.run
        self.plan: SegmentPlan = target.plan_segment(stream_name, schema)
        self.stats: StreamStats = self._run.stream_stats[stream_name]
        self._delete_field: str | None = target.config.get("delete_field")
        self._write_delay = float(target.config.get("segment_write_delay_seconds", 5))
        self._mapper = MemberMapper(self.plan.segment_type, self.plan.fields)
        self._pending: dict[str, dict[str, tuple[dict, str]]] = {ADD: {}, REMOVE: {}}
        self._segment: SegmentRef | None = None
        self._sender: BatchSender | None = None
        self._record_position = 0
        super().__init__(target, stream_name, schema, key_properties)
        self._run.sinks.append(self)

        personal_properties = {prop for field, prop in self.plan.fields.items() if field in PERSONAL_FIELDS}
        self._hashed_key_properties = personal_properties.intersection(self.key_properties)

        properties = self.schema.get("properties") or {}
        self._schema_property_names = frozenset(properties)
        read_properties = {*self.key_properties, self._delete_field}
        for prop in self.plan.fields.values():
            read_properties.update((prop, prop.split(".", 1)[0]))
        self._timestamp_properties = tuple(
            prop for prop in sorted(read_properties, key=str)
            if prop in properties and get_datelike_property_type(properties[prop])
        )

    # SDK hooks

    def get_validator(self) -> RecordValidator | None:
        if not self.validate_schema:
            return None
        return RecordValidator(self.schema)

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: t.Any) -> None:
        # A private singer-sdk hook, overridden for speed: the SDK parses every date, time and
        # date-time column of every record into Python objects, but only the properties this
        # sink reads (mapped fields, key properties, the delete field) can reach an output.
        # Records with properties outside the schema take the SDK's path, which logs them once.
        if schema is not self.schema or not self._schema_property_names.issuperset(record):
            super()._parse_timestamps_in_record(record, schema, treatment)
            return
        read = {prop: record[prop] for prop in self._timestamp_properties if prop in record}
        if read:
            super()._parse_timestamps_in_record(read, schema, treatment)
            record.update(read)

    def _singer_validate_message(self, record: dict) -> None:
        # The SDK's check builds a generator per record, so this loop is cheaper. A missing key
        # still goes to the SDK, which raises MissingKeyPropertiesError naming keys, never values.
        for key_property in self._key_properties:
            if key_property not in record:
                super()._singer_validate_message(record)
                return

    def _get_context(self, record: dict) -> dict:
        # The SDK strips `_sdc_deleted_at` from the record right after this hook (unless
        # add_record_metadata is on), so the delete flag is read here.
        return {"deleted": bool(record.get("_sdc_deleted_at"))}

    @property
    def current_size(self) -> int:
        # Batches in flight count too: the SDK drains, and so waits for them, only when this is
        # not 0, and it writes STATE after draining.
        in_flight = self._sender.elements_in_flight if self._sender is not None else 0
        return len(self._pending[ADD]) + len(self._pending[REMOVE]) + in_flight

    @property
    def is_full(self) -> bool:
        # Full batches leave from process_record; the SDK's size-based drain would also flush the
        # other action's partial batch and break "every request full but the last".
        return False

    def accept_record(self, record: dict) -> None:
        """Take one record of a stream without stream maps, as singer-sdk's per-record path does.

        The steps and their order are those of `Target._process_record_message` in singer-sdk
        0.54, minus the copy of the record and the map transform, which change nothing for the
        identity map. The target calls this only when that map is the stream's only one and
        record metadata is off.
        """
        context = self._get_context(record)
        if not _SDC_PROPERTIES.isdisjoint(record):
            self._remove_sdc_metadata_from_record(record)
        self._validate_and_parse(record)
        record = self.preprocess_record(record, context)
        self._singer_validate_message(record)
        self.tally_record_read()
        self.process_record(record, context)
        self.record_counter_metric.increment()

    def process_record(self, record: dict, context: dict) -> None:
        self._record_position += 1
        self.stats.received += 1

        validation_error = self._validator.last_error if isinstance(self._validator, RecordValidator) else None
        if validation_error is not None:
            self._skip(record, "schema_invalid", validation_error)
            return

        action = REMOVE if context.get("deleted") or self._is_deleted(record) else ADD
        mapped = self._mapper.map(record)
        if isinstance(mapped, SkippedRecord):
            self._skip(record, mapped.reason, mapped.detail)
            return
        if mapped.prehashed:
            self.stats.prehashed += 1
        if mapped.invalid_fields:
            self.stats.dropped_fields.update(mapped.invalid_fields)

        other = self._pending[REMOVE if action == ADD else ADD]
        batch = self._pending[action]
        if other.pop(mapped.key, None) is not None or mapped.key in batch:
            self.stats.duplicates_merged += 1
        # The record key is formatted only if LinkedIn rejects the element, and most never are.
        batch[mapped.key] = (mapped.element, self._record_key_values(record))
        if action == REMOVE:
            self.stats.removals_requested += 1

        if len(batch) >= self.max_size:
            self._pending[action] = {}
            self._send_in_background(action, batch)

    def process_batch(self, context: dict) -> None:
        for action in (ADD, REMOVE):
            batch = self._pending[action]
            if batch:
                self._pending[action] = {}
                self._send_in_background(action, batch)
        if self._sender is not None:
            self._sender.wait()

    def clean_up(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None
        super().clean_up()

    # Sending

    def _send_in_background(self, action: str, batch: dict[str, tuple[dict, str]]) -> None:
        if self._run.dry_run:
            self._send(action, batch)
            return
        if self._sender is None:
            self._sender = BatchSender(self._post_batch, self._account_for, name=f"sender-{self.stream_name}"[:40])
        self._sender.submit(action, batch)

    def _send(self, action: str, batch: dict[str, tuple[dict, t.Any]]) -> None:
        """Post a batch and account for it on the calling thread (dry runs and mirror removals)."""
        if self._run.dry_run:
            self._write_dry_run(action, [{**element, "action": action} for element, _ in batch.values()])
            return
        self._account_for(action, batch, self._post_batch(action, batch))

    def _post_batch(self, action: str, batch: dict[str, tuple[dict, t.Any]]) -> Delivery:
        elements = [{**element, "action": action} for element, _ in batch.values()]
        try:
            segment = self._ensure_segment()
            started = time.perf_counter()
            results = self._post_isolating_bad_elements(segment, elements)
        except LinkedInError as exc:
            self._run.record_failure(f"a {action} batch for stream '{self.stream_name}' was not delivered: {exc}")
            raise
        return Delivery(segment, elements, results, (time.perf_counter() - started) * 1000)

    def _account_for(self, action: str, batch: dict[str, tuple[dict, t.Any]], delivery: Delivery) -> None:
        """Write the rejects, the ledger rows and the counters of a batch LinkedIn returned results for."""
        segment, elements = delivery.segment, delivery.elements
        rejects = []
        accepted_members = []
        key_values = (values for _, values in batch.values())
        for key, element, values, result in zip(batch, elements, key_values, delivery.results):
            status = result.get("status") if isinstance(result, dict) else None
            if isinstance(status, int) and 200 <= status < 300:
                accepted_members.append((key, element))
            else:
                rejects.append(self._reject_row(element, self._format_record_key(values), result))

        accepted = len(accepted_members)
        if rejects:
            self._run.rejects.write_many(rejects)
        if self._run.ledger is not None and accepted_members:
            self._run.ledger.apply_accepted(
                segment.id, segment.segment_type, self._run.run_id, action, accepted_members
            )
        self.stats.sent += len(elements)
        self.stats.accepted += accepted
        self.stats.rejected += len(rejects)
        self._run.touch_segment(
            segment.id, segment.segment_type, self.stream_name, sent=len(elements),
            removals=accepted if action == REMOVE else 0,
        )
        logger.info(
            "Batch to segment %s: action=%s sent=%d accepted=%d rejected=%d ms=%.0f",
            segment.id, action, len(elements), accepted, len(rejects), delivery.elapsed_ms,
        )

    def _post_isolating_bad_elements(self, segment: SegmentRef, elements: list[dict]) -> list[dict]:
        """POST the elements and return LinkedIn's per-element results.

        When LinkedIn rejects the whole batch with 400, the batch is split in halves until each bad
        element is alone, and each of those is reported as rejected.
        """
        retry_not_found = NEW_SEGMENT_NOT_FOUND_RETRY_SECONDS if segment.created else 0.0
        assert self._run.client is not None  # not a dry run
        self.stats.requests += 1
        try:
            return self._run.client.batch_create(segment.members_path, elements, retry_not_found_seconds=retry_not_found)
        except BadRequestError as exc:
            if len(elements) == 1:
                return [{"status": exc.status or 400, "error": {"message": str(exc)}}]
            logger.warning(
                "LinkedIn rejected a whole batch of %d elements with HTTP 400; splitting it to find the bad ones",
                len(elements),
            )
            middle = len(elements) // 2
            return self._post_isolating_bad_elements(segment, elements[:middle]) + self._post_isolating_bad_elements(
                segment, elements[middle:]
            )

    def _ensure_segment(self) -> SegmentRef:
        if self._segment is None:
            assert self._run.segments is not None  # not a dry run
            self._segment = self._run.segments.find_or_create(
                name=self.plan.segment_name,
                segment_type=self.plan.segment_type,
                source_segment_id=self.plan.source_segment_id,
                description=self.plan.description,
            )
            self._register_in_ledger(self._segment)
        wait_until_writable(self._segment, self._write_delay)
        return self._segment

    def _register_in_ledger(self, segment: SegmentRef) -> None:
        if self._run.ledger is not None and self._run.segments is not None:
            self._run.ledger.register_segment(
                segment.id, segment.segment_type, segment.name, self.plan.source_segment_id,
                self._run.segments.account_urn,
            )

    # Mirror sync

    def remove_absent_members(self, max_removal_fraction: float) -> int:
        """REMOVE members the ledger holds for this segment that this run did not confirm.

        Call only after the whole input was read and every batch was delivered.

        Raises:
            RemovalGuardError: the removals would exceed `max_removal_fraction` of the segment;
                nothing is removed.
        """
        ledger = self._run.ledger
        assert ledger is not None and self._run.segments is not None  # mirror mode needs both
        segment = self._segment
        if segment is None:
            found = self._run.segments.find(self.plan.source_segment_id, self.plan.segment_type)
            if found is None:
                return 0
            segment = SegmentRef(str(found["id"]), found.get("name", self.plan.segment_name), self.plan.segment_type, created=False)
            self._segment = segment
            self._register_in_ledger(segment)

        held = ledger.count(segment.id)
        absent = ledger.absent_members(segment.id, self._run.run_id)
        if absent and len(absent) > max_removal_fraction * held:
            share = len(absent) / held
            msg = (
                f"mirror sync would remove {len(absent)} of {held} members ({share:.0%}) from segment "
                f"{segment.id} ('{segment.name}', stream '{self.stream_name}'), more than "
                f"max_removal_fraction {max_removal_fraction:g}; nothing was removed. If the source really "
                f"lost those members, run again with max_removal_fraction set to at least "
                f"{math.ceil(share * 100) / 100:.2f}"
            )
            raise RemovalGuardError(msg)

        for start in range(0, len(absent), self.max_size):
            chunk = absent[start : start + self.max_size]
            self._send(REMOVE, {key: (element, "mirror-removal") for key, element in chunk})
        ledger.mark_complete(segment.id, self._run.run_id)
        if absent:
            logger.info("Mirror sync: absent members removed from segment %s: %d", segment.id, len(absent))
        return len(absent)

    def _write_dry_run(self, action: str, elements: list[dict]) -> None:
        assert self._run.dry_run_writer is not None
        self._run.dry_run_writer.write_many(
            [
                {
                    "stream": self.stream_name,
                    "segment_name": self.plan.segment_name,
                    "segment_type": self.plan.segment_type,
                    "source_segment_id": self.plan.source_segment_id,
                    "action": action,
                    "body": {"elements": [redact_element(element) for element in elements]},
                }
            ]
        )
        self.stats.sent += len(elements)
        self.stats.requests += 1
        logger.info(
            "Dry run: batch for segment '%s': action=%s elements=%d", self.plan.segment_name, action, len(elements)
        )

    # Skips and rejects

    def _skip(self, record: dict, reason: str, detail: str) -> None:
        self.stats.skipped[reason] += 1
        self._run.rejects.write_many(
            [
                {
                    "stream": self.stream_name,
                    "record_key": self._format_record_key(self._record_key_values(record)),
                    "stage": "mapping",
                    "reason": reason,
                    "detail": detail,
                }
            ]
        )

    def _reject_row(self, element: dict, record_key: str, result: t.Any) -> dict:
        error = result.get("error") if isinstance(result, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return {
            "stream": self.stream_name,
            "record_key": record_key,
            "stage": "linkedin",
            "segment_id": self._segment.id if self._segment else None,
            "action": element.get("action"),
            "status": result.get("status") if isinstance(result, dict) else None,
            "reason": scrub_text(str(message)) if message else "rejected by LinkedIn without a message",
            "element": redact_element(element),
        }

    def _is_deleted(self, record: dict) -> bool:
        if self._delete_field is None:
            return False
        value = record.get(self._delete_field)
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1", "yes", "y", "t"}
        return bool(value)

    def _record_key_values(self, record: dict) -> int | list:
        """Return what identifies a record: its position without key properties, else their values."""
        if not self.key_properties:
            return self._record_position
        return [record.get(prop) for prop in self.key_properties]

    def _format_record_key(self, key_values: int | str | list) -> str:
        """Identify a record for the reject file without plaintext personal data.

        `key_values` is the record's position in the stream when it has no key properties, the
        values of its key properties, or a fixed label such as `mirror-removal`.
        """
        if isinstance(key_values, int):
            return f"#{key_values}"
        if isinstance(key_values, str):
            return key_values
        parts = []
        for prop, value in zip(self.key_properties, key_values):
            text = "" if value is None else str(value)[:1000]
            # A key value is personal data when its property is a mapped personal field, or when
            # it contains an email, as in an export whose columns are shifted.
            if prop in self._hashed_key_properties or "@" in text:
                text = "sha256:" + hashlib.sha256(text.strip().lower().encode("utf-8", "replace")).hexdigest()[:16]
            parts.append(text)
        return "|".join(parts)[:MAX_RECORD_KEY_LENGTH]
