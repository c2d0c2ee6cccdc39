"""`target-linkedin-audiences`: a Singer target that streams records into LinkedIn DMP segments."""

from __future__ import annotations

import logging
import os
import re
import resource
import sys
import time
import typing as t
import uuid

import click
from singer_sdk import Target
from singer_sdk.exceptions import (
    ConfigValidationError,
    InvalidInputLine,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.mapper import SameRecordTransform

from target_linkedin_audiences.connection import Connection, open_connection, resolve_account_urn
from target_linkedin_audiences.delivery import JsonlWriter, RunContext
from target_linkedin_audiences.detection import detect_segment
from target_linkedin_audiences.errors import (
    EXIT_CONFIG,
    EXIT_INPUT,
    ConfigError,
    LinkedInError,
    RemovalGuardError,
    TargetError,
)
from target_linkedin_audiences.heartbeat import TokenHeartbeat, start_run_token_checks
from target_linkedin_audiences.ledger import Ledger
from target_linkedin_audiences.members import MemberMapper
from target_linkedin_audiences.metrics import MIN_SERVABLE_AUDIENCE, metrics_from_segment, sent_match_rate
from target_linkedin_audiences.ratelimit import StreamingRateLimits
from target_linkedin_audiences.reader import SafeSingerReader
from target_linkedin_audiences.segments import SegmentService
from target_linkedin_audiences.settings import (
    CONFIG_SCHEMA,
    SEGMENT_TYPES,
    SegmentPlan,
    default_ledger_path,
    validate_batch_size,
    validate_removal_fraction,
)
from target_linkedin_audiences.sinks import AudienceSink

if t.TYPE_CHECKING:
    from types import FrameType

logger = logging.getLogger(__name__)


class TargetLinkedInAudiences(Target):
    """Add and remove LinkedIn Matched Audiences members from Singer records."""

    name = "target-linkedin-audiences"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = AudienceSink
    message_reader_class = SafeSingerReader

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.connection: Connection | None = None
        self.token_heartbeat: TokenHeartbeat | None = None
        self._plans: dict[str, SegmentPlan] = {}
        # Stream name -> (its stream map list, its sink) for streams whose records skip the SDK's
        # per-record path; see _process_record_message.
        self._direct_sinks: dict[str, tuple[list, AudienceSink]] = {}
        self.account_urn: str | None = None
        validate_batch_size(self.config.get("batch_size_rows", 5000))
        self._max_removal_fraction = validate_removal_fraction(self.config.get("max_removal_fraction", 0.2))
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("batch_max_age_seconds", 300)) / 60
        try:
            self.run = self._start_run()
        except Exception:
            self.close()
            raise
        if isinstance(self.message_reader, SafeSingerReader):
            self.message_reader.on_malformed_line = self._reject_malformed_line
        # A sender thread waits for the GIL each time a socket or SQLite call returns, up to the
        # switch interval (5 ms by default) while the main thread maps records. A 5,000-member
        # request makes dozens of such calls. With 1 ms, the 20 requests of 100,000 benchmark
        # records took 3.9 s in all instead of 6.0 s (2-core machine, docs/benchmarks.md).
        sys.setswitchinterval(0.001)

    # Setup

    def _start_run(self) -> RunContext:
        config = self.config
        rejects = JsonlWriter(config.get("reject_file_path") or "rejects.jsonl")
        if config.get("dry_run"):
            account = config.get("ad_account_id")
            self.account_urn = resolve_account_urn(account) if account is not None else None
            logger.info("Dry run: no LinkedIn calls; payloads go to %s", config.get("dry_run_path"))
            dry_run_writer = JsonlWriter(config.get("dry_run_path") or "dry-run.jsonl")
            return RunContext(client=None, segments=None, rejects=rejects, dry_run_writer=dry_run_writer)

        self.connection = open_connection(config)
        # Before stdin is read: a dead refresh token ends the run here, with no state.
        self.token_heartbeat = start_run_token_checks(self.connection, config)
        if self.connection.account_urn is None:
            raise ConfigError("ad_account_id is required: the sponsored ad account that owns the segments")
        if not self.connection.source_platform:
            msg = "source_platform is required: the partner source platform LinkedIn assigned to your app"
            raise ConfigError(msg)
        self.account_urn = self.connection.account_urn
        logger.info("Writing to ad account %s through %s", self.account_urn, self.connection.api_base_url)

        client = self.connection.client
        client.before_request = StreamingRateLimits(
            int(config.get("users_requests_per_minute", 600)),
            int(config.get("companies_requests_per_minute", 300)),
        ).before_request
        segments = SegmentService(client, self.account_urn, self.connection.source_platform)

        ledger = Ledger(config.get("ledger_path") or default_ledger_path(os.environ))
        run_id = uuid.uuid4().hex
        ledger.start_run(run_id)
        mirror = config.get("sync_mode", "upsert") == "mirror"
        if mirror:
            logger.info("Mirror sync: members absent from this run are removed after the input ends")
        return RunContext(
            client=client, segments=segments, rejects=rejects, dry_run_writer=None,
            ledger=ledger, run_id=run_id, mirror=mirror,
        )

    def plan_segment(self, stream_name: str, schema: dict) -> SegmentPlan:
        """Decide the segment, type and field mapping of a stream, from config or detection."""
        entry = (self.config.get("segments") or {}).get(stream_name) or {}
        segment_type = entry.get("type")
        fields = dict(entry.get("fields") or {})
        source = "config"

        if not segment_type or not fields:
            detected = detect_segment(stream_name, schema)
            if detected is None or (segment_type and detected.segment_type != segment_type):
                properties = ", ".join(sorted((schema.get("properties") or {}).keys())[:30])
                msg = (
                    f"stream '{stream_name}': no member fields were detected in its schema "
                    f"(properties: {properties or 'none'}); add it under `segments` with `type` "
                    "(USER or COMPANY) and `fields`, e.g. {\"email\": \"Email\"}"
                )
                raise ConfigError(msg)
            segment_type = segment_type or detected.segment_type
            fields = fields or dict(detected.fields)
            source = f"detected ({detected.source})"

        if segment_type not in SEGMENT_TYPES:
            raise ConfigError(f"stream '{stream_name}': type must be USER or COMPANY, got {segment_type!r}")
        try:
            MemberMapper(segment_type, fields)
        except ValueError as exc:
            raise ConfigError(f"stream '{stream_name}': {exc}") from None

        account_id = self.account_urn.rsplit(":", 1)[-1] if self.account_urn else "unknown"
        plan = SegmentPlan(
            stream_name=stream_name,
            segment_name=entry.get("segment_name") or stream_name,
            segment_type=segment_type,
            source_segment_id=entry.get("source_segment_id") or f"{stream_name}@{account_id}",
            fields=fields,
            description=entry.get("description"),
            source=source,
        )
        if self._plans.get(stream_name) != plan:
            mapping = ", ".join(f"{field}={prop}" for field, prop in sorted(fields.items()))
            logger.info(
                "Stream '%s' -> %s segment '%s' (key %s), fields from %s: %s",
                stream_name, segment_type, plan.segment_name, plan.source_segment_id, source, mapping,
            )
            self._plans[stream_name] = plan
        return plan

    # Records

    def _process_record_message(self, message_dict: dict) -> None:
        # singer-sdk copies every record and passes it through its stream maps before the sink
        # gets it. A stream whose only map is the SDK's identity map, without flattening or
        # record metadata, goes straight to its sink instead, through the same validation and
        # checks. Everything else, including messages the SDK must reject, takes the SDK's path.
        stream_name = message_dict.get("stream")
        sink = self._direct_sink(stream_name) if type(stream_name) is str else None
        if sink is None or "record" not in message_dict:
            super()._process_record_message(message_dict)
            return
        sink.accept_record(message_dict["record"])
        if time.time() - self._last_full_drain_at > self._MAX_RECORD_AGE_IN_MINUTES * 60:
            self._handle_max_record_age()

    def _direct_sink(self, stream_name: str) -> AudienceSink | None:
        stream_maps = self.mapper.stream_maps.get(stream_name)
        sink = self._sinks_active.get(stream_name)
        cached = self._direct_sinks.get(stream_name)
        if cached is not None and cached[0] is stream_maps and cached[1] is sink:
            return sink
        # A new SCHEMA message replaces the stream's map list and its sink, so both are checked.
        self._direct_sinks.pop(stream_name, None)
        if not stream_maps or len(stream_maps) != 1 or not isinstance(sink, AudienceSink):
            return None
        stream_map = stream_maps[0]
        if (
            type(stream_map) is not SameRecordTransform
            or stream_map.stream_alias != stream_name
            or stream_map.flattening_enabled
            or sink.include_sdc_metadata_properties
        ):
            return None
        self._direct_sinks[stream_name] = (stream_maps, sink)
        return sink

    # Delivery guarantees

    def _write_state_message(self, state: dict) -> None:
        # This is the one gate for STATE. singer-sdk also calls it from its SIGTERM drain and after
        # a drain in which a batch failed, and both must leave the last state behind undelivered data.
        blocker = self.run.state_blocker()
        if blocker is not None:
            logger.warning("Not emitting STATE: %s", blocker)
            return
        self.run.rejects.sync()
        if self.run.ledger is not None:
            self.run.ledger.sync()
        super()._write_state_message(state)

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # singer-sdk 0.54 drains all sinks and writes the latest STATE from inside the signal
        # handler, even while a batch is half sent. This target stops instead: whatever was not
        # acknowledged is not covered by any STATE, and a rerun sends it again (ADD and REMOVE are
        # idempotent on LinkedIn).
        self.run.record_termination(signum)
        logger.warning("Received signal %d; stopping without emitting STATE for undelivered records", signum)
        self.close()
        sys.exit(128 + signum)

    def process_endofpipe(self) -> None:
        # The input has ended, so the ledger folds what it has while the last batches are sent.
        if self.run.ledger is not None:
            self.run.ledger.fold_in_background()
        if self.run.mirror:
            self._remove_absent_members()
        super().process_endofpipe()
        self._log_summary()
        self._report_segments()
        # Nothing below sends requests to LinkedIn. The embedded sandbox checkpoints its database
        # while this process folds the journal rows added after the background fold began.
        self._stop_heartbeat()
        if self.connection is not None:
            self.connection.begin_close()
        if self.run.ledger is not None:
            self.run.ledger.finish_run(self.run.run_id, "complete")
        self.close()
        # ru_maxrss is in KiB on Linux; the embedded sandbox, a child process, is not included.
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        logger.info("Peak memory of the target process: %.0f MiB", peak_kib / 1024)

    def _remove_absent_members(self) -> None:
        """Deliver what is buffered, then remove members this complete run did not send.

        This runs before the SDK's final drain writes STATE, so STATE also covers the removals.
        """
        for sink in self.run.sinks:
            self.drain_one(sink)
        if self.run.malformed_lines:
            # An unreadable line may hold a member the source still has; removing it would be wrong.
            msg = (
                f"mirror sync removed nobody: {self.run.malformed_lines} input lines could not be read, so "
                "absent members cannot be told from unreadable ones; see the reject file, fix the input "
                "and run again"
            )
            raise RemovalGuardError(msg)

        latest_by_segment = {sink.plan.source_segment_id: sink for sink in self.run.sinks}
        incomplete = []
        for sink in latest_by_segment.values():
            invalid_records = sink.stats.skipped["schema_invalid"]
            if invalid_records:
                logger.warning(
                    "Mirror sync skipped removals for stream '%s' because %d records failed schema validation",
                    sink.stream_name, invalid_records,
                )
                incomplete.append(sink.stream_name)
                continue
            sink.remove_absent_members(self._max_removal_fraction)
        if incomplete:
            msg = (
                f"mirror sync removed nobody from {', '.join(repr(name) for name in incomplete)}, because "
                "records failed schema validation; see the reject file, fix the input and run again"
            )
            raise RemovalGuardError(msg)

    def _reject_malformed_line(self, line_number: int, reason: str) -> None:
        self.run.malformed_lines += 1
        self.run.rejects.write_many([{"line": line_number, "stage": "input", "reason": reason}])

    def _log_summary(self) -> None:
        for stream_name, stats in sorted(self.run.stream_stats.items()):
            summary = stats.as_dict()
            logger.info(
                "Stream '%s' summary: received=%d skipped_without_identifier=%d invalid=%d prehashed=%d "
                "duplicates_merged=%d sent=%d accepted=%d rejected=%d requests=%d",
                stream_name, summary["received"], summary["skipped_without_identifier"], summary["invalid"],
                summary["prehashed"], summary["duplicates_merged"], summary["sent"], summary["accepted"],
                summary["rejected"], summary["requests"],
            )
            if stats.skipped:
                logger.info("Stream '%s' skips by reason: %s", stream_name, dict(sorted(stats.skipped.items())))
        if self.run.malformed_lines:
            logger.warning("Skipped %d malformed input lines; see %s", self.run.malformed_lines, self.run.rejects.path)

    def _report_segments(self) -> None:
        """Log status and match metrics of every segment this run wrote to."""
        if self.run.segments is None:
            return
        for touch in self.run.touched_segments.values():
            try:
                segment = self.run.segments.get(touch.segment_id)
            except LinkedInError as exc:
                logger.warning("Could not read the status of segment %s: %s", touch.segment_id, exc)
                continue

            metrics = metrics_from_segment(segment)
            stats = self.run.stream_stats[touch.stream_name]
            linkedin_rate = _percent(metrics.match_rate)
            own_rate = _percent(sent_match_rate(metrics.matched_count, stats.sent, stats.invalid + stats.skipped_without_identifier))
            logger.info(
                "Segment %s '%s' (%s): status=%s input_count=%s matched_count=%s match_rate=%s "
                "match_rate_incl_skipped=%s audience_size=%s ready_to_serve=%s%s",
                metrics.segment_id, metrics.name, metrics.segment_type, metrics.status, metrics.input_count,
                metrics.matched_count, linkedin_rate, own_rate, metrics.audience_size,
                "yes" if metrics.ready_to_serve else "no",
                f" because {metrics.not_ready_reason}" if metrics.not_ready_reason else "",
            )
            if touch.removals and metrics.audience_size is not None and metrics.audience_size < MIN_SERVABLE_AUDIENCE:
                logger.warning(
                    "Segment %s: this run removed %d members and its audience is now %d, under the %d "
                    "that campaigns need to serve",
                    metrics.segment_id, touch.removals, metrics.audience_size, MIN_SERVABLE_AUDIENCE,
                )

    def _stop_heartbeat(self) -> None:
        if self.token_heartbeat is not None:
            self.token_heartbeat.stop()
            self.token_heartbeat = None

    def close(self) -> None:
        """Flush files and stop the embedded sandbox. Safe to call more than once."""
        self._stop_heartbeat()
        run = getattr(self, "run", None)
        if run is not None:
            run.close()
        if self.connection is not None:
            self.connection.close()

    # Command line

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        """Read `--config`, turning a missing or malformed file into a usage error (exit 2)."""
        try:
            return super().cb_config(ctx, param, value)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise click.BadParameter(f"config file not found: {exc}") from None
        except ValueError as exc:
            # json and simplejson decode errors are ValueErrors; their text names the position.
            raise click.BadParameter(f"config file is not valid JSON ({exc})") from None

    @classmethod
    def invoke(cls, **kwargs: t.Any) -> None:  # type: ignore[override]
        """Run the target, turning known failures into one error line and a distinct exit code."""
        try:
            super().invoke(**kwargs)
        except TargetError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 (the message is the whole report)
            sys.exit(exc.exit_code)
        except ConfigValidationError as exc:
            for error in exc.errors:
                cls.logger.error("Invalid setting: %s", _hide_secret_values(error))  # noqa: TRY400
            sys.exit(EXIT_CONFIG)
        except (InvalidInputLine, RecordsWithoutSchemaException, MissingKeyPropertiesError) as exc:
            cls.logger.error("Invalid Singer input: %s", exc)  # noqa: TRY400
            sys.exit(EXIT_INPUT)


def _hide_secret_values(error: str) -> str:
    """Keep a config validation error's setting name but drop the value of a secret setting."""
    for name, schema in CONFIG_SCHEMA["properties"].items():
        if schema.get("secret") and name in error:
            return f"{name} has an invalid value (not shown, because the setting is secret)"
    # singer-sdk reads JSON numbers with a fraction as Decimal; show them as written.
    return re.sub(r"Decimal\('([^']*)'\)", r"\1", error)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


if __name__ == "__main__":
    TargetLinkedInAudiences.cli()
