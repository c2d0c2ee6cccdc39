"""Streaming member updates: BATCH_CREATE on `/users` and `/companies`, with per-member rate limits."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import matching, redaction
from target_linkedin_audiences.sandbox.errors import THROTTLED, ApiError, json_response
from target_linkedin_audiences.sandbox.segments import load_segment_for_members, record_input
from target_linkedin_audiences.sandbox.validation import ElementError, validate_element

if TYPE_CHECKING:
    from target_linkedin_audiences.sandbox.context import Context

RATE_WINDOW_SECONDS = 60


def check_rate_limit(ctx: Context, endpoint: str, limit: int) -> None:
    """Count this request against the member's sliding 60-second window, or raise 429."""
    window_start = ctx.now - RATE_WINDOW_SECONDS
    ctx.db.execute("DELETE FROM rate_hits WHERE at <= ?", (window_start,))
    used = ctx.db.execute(
        "SELECT COUNT(*) FROM rate_hits WHERE member = ? AND endpoint = ? AND at > ?",
        (ctx.member, endpoint, window_start),
    ).fetchone()[0]
    if used >= limit:
        raise ApiError(
            429,
            "Resource level throttle limit for calls to this resource is reached.",
            service_error_code=THROTTLED,
        )
    ctx.db.execute(
        "INSERT INTO rate_hits (member, endpoint, at) VALUES (?, ?, ?)", (ctx.member, endpoint, ctx.now)
    )


def stream_users(ctx: Context, segment_id: str) -> Response:
    """`POST /rest/dmpSegments/{id}/users`."""
    check_rate_limit(ctx, "users", ctx.settings.users_requests_per_minute)
    segment = load_segment_for_members(ctx, segment_id, ("USER",))
    return _apply_batch(ctx, segment, "USER")


def stream_companies(ctx: Context, segment_id: str) -> Response:
    """`POST /rest/dmpSegments/{id}/companies`."""
    check_rate_limit(ctx, "companies", ctx.settings.companies_requests_per_minute)
    segment = load_segment_for_members(ctx, segment_id, ("COMPANY",))
    return _apply_batch(ctx, segment, "COMPANY")


def _apply_batch(ctx: Context, segment: sqlite3.Row, kind: str) -> Response:
    body = ctx.json_body()
    elements = body.get("elements") if isinstance(body, dict) else None
    if not isinstance(elements, list):
        raise ApiError(400, "A BATCH_CREATE body must be {\"elements\": [...]}")
    limit = ctx.settings.max_elements_per_request
    if len(elements) > limit:
        raise ApiError(
            400,
            f"The request has {len(elements)} elements; the maximum per request is {limit}",
            code="TOO_MANY_ELEMENTS",
        )

    results: list[dict[str, Any]] = []
    # The log keeps each element redacted. One pass builds this list with the results, so a
    # valid element needs no second check of its identifiers.
    logged_elements: list[Any] = []
    received = matched = 0
    # Valid elements are written in runs of one action, each run with one executemany, so the
    # order of ADDs and REMOVEs within the request is kept.
    run_action: str | None = None
    run_rows: list[tuple] = []
    for index, element in enumerate(elements):
        try:
            validate_element(kind, element)
        except ElementError as error:
            results.append({
                "status": 400,
                "batchIndex": index,
                "error": {"status": 400, "code": error.code, "message": f"elements[{index}]: {error.message}"},
            })
            logged_elements.append(redaction.redact_element(element))
            continue

        logged_elements.append(redaction.redact_valid_element(element))
        action = "REMOVE" if element.get("action", "ADD") == "REMOVE" else "ADD"
        if action != run_action:
            _write_members(ctx.db, run_action, run_rows)
            run_action, run_rows = action, []
        row, is_matched = member_row(segment["id"], kind, element, ctx.settings.match_percentage)
        run_rows.append(row)
        received += 1
        matched += int(is_matched)
        results.append({"status": 201})
    _write_members(ctx.db, run_action, run_rows)

    record_input(ctx.db, segment, received, matched, ctx.now)
    # The log keeps the redacted body built from the parsed one, instead of parsing it again.
    ctx.log_body = redaction.SerializedBody(redaction.serialize_masked({**body, "elements": logged_elements}))
    return json_response({"elements": results})


def member_row(segment_id: int, kind: str, element: dict, match_percentage: int) -> tuple[tuple, bool]:
    """Return the members-table row of one valid element and whether it matches."""
    member_key = matching.digest(matching.primary_identifier(kind, element))
    is_matched = matching.digest_matches(member_key, match_percentage)
    fields = dict(element)
    fields.pop("action", None)
    return (segment_id, member_key, orjson.dumps(fields).decode(), int(is_matched)), is_matched


def _write_members(db: sqlite3.Connection, action: str | None, rows: list[tuple]) -> None:
    """Apply a run of rows of one action: ADD upserts, REMOVE deletes."""
    if not rows:
        return
    if action == "REMOVE":
        db.executemany(
            "DELETE FROM members WHERE segment_id = ? AND member_key = ?", [(row[0], row[1]) for row in rows]
        )
        return
    db.executemany(
        "INSERT INTO members (segment_id, member_key, element, matched) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (segment_id, member_key) DO UPDATE SET element = excluded.element",
        rows,
    )


def apply_member(db: sqlite3.Connection, segment_id: int, kind: str, element: dict, match_percentage: int) -> bool:
    """Add or remove one valid element, keyed by its primary identifier; return whether it matches.

    ADD of a present member replaces its fields and REMOVE of an absent one does nothing,
    because LinkedIn treats both as idempotent.
    """
    identifier = matching.primary_identifier(kind, element)
    is_matched = matching.is_match(identifier, match_percentage)
    member_key = matching.digest(identifier)
    if element.get("action", "ADD") == "REMOVE":
        db.execute("DELETE FROM members WHERE segment_id = ? AND member_key = ?", (segment_id, member_key))
        return is_matched

    fields = {name: value for name, value in element.items() if name != "action"}
    db.execute(
        "INSERT INTO members (segment_id, member_key, element, matched) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (segment_id, member_key) DO UPDATE SET element = excluded.element",
        (segment_id, member_key, json.dumps(fields), int(is_matched)),
    )
    return is_matched
