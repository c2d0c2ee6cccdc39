"""The target's configuration schema and the resolved settings of one run."""

from __future__ import annotations

import dataclasses
import decimal
import os
import typing as t

from singer_sdk import typing as th

from target_linkedin_audiences.client import (
    DEFAULT_API_BASE_URL,
    DEFAULT_API_VERSION,
    DEFAULT_OAUTH_BASE_URL,
)
from target_linkedin_audiences.errors import ConfigError

# LinkedIn accepts at most 5,000 elements in one `/users` or `/companies` BATCH_CREATE.
MAX_BATCH_SIZE = 5000
SEGMENT_TYPES = ("USER", "COMPANY")

SEGMENT_SCHEMA = th.ObjectType(
    th.Property("segment_name", th.StringType, description="Segment name shown in Campaign Manager."),
    th.Property("type", th.StringType, allowed_values=list(SEGMENT_TYPES), description="USER (people) or COMPANY."),
    th.Property(
        "source_segment_id",
        th.StringType,
        description="Stable key that finds the segment again; default `<stream>@<account id>`.",
    ),
    th.Property("description", th.StringType, description="Segment description."),
    th.Property(
        "fields",
        th.ObjectType(additional_properties=th.StringType),
        description="LinkedIn member field to record property, e.g. {\"email\": \"Email\"}.",
    ),
    additional_properties=False,
)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "ad_account_id",
        th.CustomType({"type": ["string", "integer"]}),
        description="Sponsored ad account: 123, \"123\" or urn:li:sponsoredAccount:123.",
    ),
    th.Property("client_id", th.StringType, description="LinkedIn app client id."),
    th.Property("client_secret", th.StringType, secret=True, description="LinkedIn app client secret."),
    th.Property("access_token", th.StringType, secret=True, description="OAuth 2.0 access token."),
    th.Property("refresh_token", th.StringType, secret=True, description="OAuth 2.0 refresh token."),
    th.Property("token_store_path", th.StringType, description="File holding the current tokens."),
    th.Property(
        "token_refresh_window_seconds",
        th.NumberType,
        default=3600,
        description="Refresh before a run when the access token expires within this many seconds.",
    ),
    th.Property(
        "heartbeat_interval_seconds",
        th.NumberType,
        default=900,
        description="Seconds between token checks during a run; 0 turns them off.",
    ),
    th.Property(
        "oauth_scopes",
        th.StringType,
        default="r_ads rw_dmp_segments r_basicprofile",
        description="Space- or comma-separated scopes that `linkedin-audiences auth login` asks for.",
    ),
    th.Property(
        "oauth_redirect_port",
        th.IntegerType,
        default=0,
        description="Loopback port of the sign-in redirect; 0 picks a free one.",
    ),
    th.Property(
        "oauth_login_timeout_seconds",
        th.NumberType,
        default=300,
        description="How long `linkedin-audiences auth login` waits for the redirect, in seconds.",
    ),
    th.Property("api_base_url", th.StringType, default=DEFAULT_API_BASE_URL, description="API scheme and host."),
    th.Property("oauth_base_url", th.StringType, default=DEFAULT_OAUTH_BASE_URL, description="OAuth scheme and host."),
    th.Property("api_version", th.StringType, default=DEFAULT_API_VERSION, description="LinkedIn-Version header, YYYYMM."),
    th.Property(
        "source_platform",
        th.StringType,
        description="Partner source platform LinkedIn assigned to the app; SANDBOX in sandbox mode.",
    ),
    th.Property("sandbox", th.BooleanType, default=False, description="Run against an embedded local sandbox."),
    th.Property(
        "sandbox_db_path",
        th.StringType,
        default=".linkedin-sandbox/sandbox.db",
        description="SQLite file of the embedded sandbox.",
    ),
    th.Property(
        "segments",
        th.ObjectType(additional_properties=SEGMENT_SCHEMA),
        description="Per stream name: segment_name, type, source_segment_id, description, fields.",
    ),
    th.Property("delete_field", th.StringType, description="Record property whose truthy value means REMOVE."),
    th.Property(
        "batch_size_rows",
        th.IntegerType,
        default=MAX_BATCH_SIZE,
        description=f"Members per request, 1 to {MAX_BATCH_SIZE}.",
    ),
    th.Property(
        "batch_max_age_seconds",
        th.NumberType,
        default=300,
        description="Send buffered members and emit state at least this often, in seconds.",
    ),
    th.Property("dry_run", th.BooleanType, default=False, description="Map and hash only; call no API."),
    th.Property(
        "dry_run_path",
        th.StringType,
        default="dry-run.jsonl",
        description="JSONL file of the payloads a dry run would send.",
    ),
    th.Property(
        "reject_file_path",
        th.StringType,
        default="rejects.jsonl",
        description="JSONL file of skipped and rejected records, with reasons and hashed ids only.",
    ),
    th.Property(
        "segment_write_delay_seconds",
        th.NumberType,
        default=5,
        description="Wait between creating a segment and writing to it, in seconds (LinkedIn asks for 5).",
    ),
    th.Property(
        "sync_mode",
        th.StringType,
        default="upsert",
        allowed_values=["upsert", "mirror"],
        description=(
            "upsert: ADD every record, REMOVE records marked deleted. mirror: also REMOVE members "
            "that the segment held after the last complete run but that this run did not send."
        ),
    ),
    th.Property(
        "ledger_path",
        th.StringType,
        description=(
            "SQLite membership ledger; default .linkedin-audiences/ledger.db, or under .meltano "
            "when run by Meltano."
        ),
    ),
    th.Property(
        "max_removal_fraction",
        th.NumberType,
        default=0.2,
        description="Mirror sync removes nothing and fails when it would remove more than this share of a segment.",
    ),
    th.Property(
        "users_requests_per_minute",
        th.IntegerType,
        default=600,
        description="Client-side pace of /users requests; LinkedIn allows 600 a minute per member.",
    ),
    th.Property(
        "companies_requests_per_minute",
        th.IntegerType,
        default=300,
        description="Client-side pace of /companies requests; LinkedIn allows 300 a minute per member.",
    ),
    th.Property("request_timeout_seconds", th.NumberType, default=60, description="Timeout of one HTTP attempt."),
    th.Property("max_retry_attempts", th.IntegerType, default=8, description="Attempts per API call."),
    th.Property("max_retry_seconds", th.NumberType, default=300, description="Retry time budget per API call."),
).to_dict()


@dataclasses.dataclass(frozen=True)
class SegmentPlan:
    """Destination segment of one stream and the mapping of its records to members."""

    stream_name: str
    segment_name: str
    segment_type: str
    source_segment_id: str
    fields: dict[str, str]
    description: str | None
    # Origin of the type and fields: "config" or the detector's description.
    source: str


def default_ledger_path(environ: t.Mapping[str, str]) -> str:
    """Put the ledger in Meltano's project folder when Meltano runs the target, else in the cwd."""
    project_root = environ.get("MELTANO_PROJECT_ROOT")
    if project_root:
        return os.path.join(project_root, ".meltano", "linkedin-audiences", "ledger.db")
    return os.path.join(".linkedin-audiences", "ledger.db")


def validate_removal_fraction(value: t.Any) -> float:
    # singer-sdk reads JSON numbers with a fraction as Decimal.
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)) or not 0 <= value <= 1:
        raise ConfigError(f"max_removal_fraction must be a number from 0 to 1, got {value}")
    return float(value)


def validate_batch_size(value: t.Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_BATCH_SIZE:
        msg = f"batch_size_rows must be a whole number from 1 to {MAX_BATCH_SIZE} (LinkedIn's cap), got {value}"
        raise ConfigError(msg)
    return value
