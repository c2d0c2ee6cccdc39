"""`target-linkedin-audiences`: a Singer target that streams records into LinkedIn DMP segments."""

from __future__ import annotations

import logging
import sys
import typing as t

from singer_sdk import Target
from singer_sdk.exceptions import InvalidInputLine, RecordsWithoutSchemaException

from target_linkedin_audiences.auth import OAuthClient, TokenManager, TokenSet
from target_linkedin_audiences.client import LinkedInClient
from target_linkedin_audiences.delivery import JsonlWriter, RunContext
from target_linkedin_audiences.detection import detect_segment
from target_linkedin_audiences.errors import EXIT_INPUT, ConfigError, TargetError
from target_linkedin_audiences.members import MemberMapper
from target_linkedin_audiences.reader import SafeSingerReader
from target_linkedin_audiences.segments import SegmentService
from target_linkedin_audiences.settings import (
    CONFIG_SCHEMA,
    SANDBOX_SOURCE_PLATFORM,
    SEGMENT_TYPES,
    SegmentPlan,
    resolve_account_urn,
    validate_batch_size,
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
        self._sandbox: t.Any = None
        self._plans: dict[str, SegmentPlan] = {}
        self.account_urn: str | None = None
        validate_batch_size(self.config.get("batch_size_rows", 5000))
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("batch_max_age_seconds", 300)) / 60
        try:
            self.run = self._start_run()
        except Exception:
            self.close()
            raise
        if isinstance(self.message_reader, SafeSingerReader):
            self.message_reader.on_malformed_line = self._reject_malformed_line

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

        api_base_url = config.get("api_base_url")
        oauth_base_url = config.get("oauth_base_url")
        client_id = config.get("client_id")
        client_secret = config.get("client_secret")
        access_token = config.get("access_token")
        refresh_token = config.get("refresh_token")
        source_platform = config.get("source_platform")
        account = config.get("ad_account_id")

        if config.get("sandbox"):
            # Imported here: product code reaches the sandbox only over HTTP, except to start it.
            from target_linkedin_audiences.sandbox import SandboxServer

            self._sandbox = SandboxServer(db_path=config.get("sandbox_db_path") or ".linkedin-sandbox/sandbox.db")
            self._sandbox.start()
            api_base_url = oauth_base_url = self._sandbox.url
            client_id = client_id or self._sandbox.client_id
            client_secret = client_secret or self._sandbox.client_secret
            source_platform = source_platform or SANDBOX_SOURCE_PLATFORM
            account = account if account is not None else self._sandbox.default_account_id
            if not access_token:
                issued = self._sandbox.issue_token()
                access_token, refresh_token = issued["access_token"], issued["refresh_token"]
            logger.info("Embedded sandbox at %s, ad account %s", api_base_url, account)

        if account is None:
            raise ConfigError("ad_account_id is required: the sponsored ad account that owns the segments")
        self.account_urn = resolve_account_urn(account)
        if not source_platform:
            msg = "source_platform is required: the partner source platform LinkedIn assigned to your app"
            raise ConfigError(msg)
        if not access_token:
            msg = "access_token is required; run `linkedin-audiences auth login` to get one"
            raise ConfigError(msg)

        oauth = None
        if client_id and client_secret and refresh_token:
            oauth = OAuthClient(oauth_base_url, client_id, client_secret)
        tokens = TokenManager(TokenSet(access_token=access_token, refresh_token=refresh_token), oauth)
        client = LinkedInClient(
            tokens=tokens,
            api_base_url=api_base_url,
            api_version=str(config.get("api_version")),
            timeout_seconds=float(config.get("request_timeout_seconds", 60)),
            max_attempts=int(config.get("max_retry_attempts", 8)),
            max_retry_seconds=float(config.get("max_retry_seconds", 300)),
        )
        segments = SegmentService(client, self.account_urn, source_platform)
        return RunContext(client=client, segments=segments, rejects=rejects, dry_run_writer=None)

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

    # Delivery guarantees

    def _write_state_message(self, state: dict) -> None:
        # The one gate for STATE: singer-sdk also calls this from its SIGTERM drain, and after a
        # drain in which a batch failed; both must leave the last state behind undelivered data.
        blocker = self.run.state_blocker()
        if blocker is not None:
            logger.warning("Not emitting STATE: %s", blocker)
            return
        self.run.rejects.sync()
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
        super().process_endofpipe()
        self._log_summary()
        self.close()

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

    def close(self) -> None:
        """Flush files and stop the embedded sandbox; safe to call more than once."""
        run = getattr(self, "run", None)
        if run is not None:
            run.close()
            if run.client is not None:
                run.client.close()
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    # Command line

    @classmethod
    def invoke(cls, **kwargs: t.Any) -> None:  # type: ignore[override]
        """Run the target, turning known failures into one error line and a distinct exit code."""
        try:
            super().invoke(**kwargs)
        except TargetError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 (the message is the whole report)
            sys.exit(exc.exit_code)
        except (InvalidInputLine, RecordsWithoutSchemaException) as exc:
            cls.logger.error("Invalid Singer input: %s", exc)  # noqa: TRY400
            sys.exit(EXIT_INPUT)


if __name__ == "__main__":
    TargetLinkedInAudiences.cli()
