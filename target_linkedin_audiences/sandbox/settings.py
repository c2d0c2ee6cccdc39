"""Sandbox settings and the fixed identities of the pre-registered app and demo member."""

from __future__ import annotations

from dataclasses import dataclass, field

CLIENT_ID = "sandbox-client-id"
CLIENT_SECRET = "sandbox-client-secret"
APP_NAME = "Sandbox Audiences App"

# The partner source platform LinkedIn would assign to this app, and the one for CSV list segments.
SOURCE_PLATFORM = "SANDBOX"
LIST_UPLOAD_PLATFORM = "LIST_UPLOAD"

# Scopes the pre-registered app may request. A token issued without a consent page gets DEFAULT_SCOPES.
APP_SCOPES = ("r_ads", "rw_ads", "rw_dmp_segments", "r_basicprofile", "r_liteprofile")
DEFAULT_SCOPES = ("r_ads", "rw_ads", "rw_dmp_segments", "r_basicprofile")

# LinkedIn's documented defaults: 60-day access tokens, 365-day refresh tokens, 30-minute codes.
ACCESS_TOKEN_TTL_SECONDS = 60 * 24 * 3600
REFRESH_TOKEN_TTL_SECONDS = 365 * 24 * 3600
AUTHORIZATION_CODE_TTL_SECONDS = 30 * 60

# Versions active in early December 2026, going by LinkedIn's sunset banners: 202507, 202508,
# 202510 and 202511 are sunset, and 202512 is estimated to run until mid-December 2026.
ACTIVE_VERSIONS = ("202512", "202601", "202602", "202603", "202604", "202605", "202606", "202607", "202608")


@dataclass
class SandboxSettings:
    """Behaviour of one sandbox process. State lives in the database, these settings do not.

    Times are in seconds of the simulated clock.
    """

    access_token_ttl_seconds: int = ACCESS_TOKEN_TTL_SECONDS
    refresh_token_ttl_seconds: int = REFRESH_TOKEN_TTL_SECONDS
    # A segment stays BUILDING this long after its first data arrives, then turns READY.
    build_delay_seconds: float = 10
    # A READY segment shows UPDATING this long after each later change.
    updating_seconds: float = 60
    # Members endpoints return 404 for a segment younger than this, as LinkedIn does.
    segment_ready_delay_seconds: float = 5
    # Share of members that match, in percent (see matching.py for the rule).
    match_percentage: int = 70
    active_versions: list[str] = field(default_factory=lambda: list(ACTIVE_VERSIONS))
    # Ad accounts added to the demo member's four fixed ones, so that paging is exercised.
    extra_accounts: int = 0
    users_requests_per_minute: int = 600
    companies_requests_per_minute: int = 300
    max_elements_per_request: int = 5000
    max_segments_per_account: int = 1000
