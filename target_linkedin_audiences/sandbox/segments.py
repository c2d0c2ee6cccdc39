"""DMP segments: create, read, find, update and delete, and the simulated build status."""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import restli
from target_linkedin_audiences.sandbox.accounts import require_account_access
from target_linkedin_audiences.sandbox.errors import ApiError, json_response
from target_linkedin_audiences.sandbox.settings import LIST_UPLOAD_PLATFORM, SOURCE_PLATFORM

if TYPE_CHECKING:
    from target_linkedin_audiences.sandbox.context import Context
    from target_linkedin_audiences.sandbox.settings import SandboxSettings

STREAMING_TYPES = ("USER", "COMPANY")
LIST_UPLOAD_TYPES = ("USER_LIST_UPLOAD", "COMPANY_LIST_UPLOAD")
STATUSES = ("BUILDING", "READY", "UPDATING", "ARCHIVED", "EXPIRED", "FAILED", "ERROR")
CREATE_FIELDS = {"name", "description", "account", "type", "sourcePlatform", "sourceSegmentId", "destinations",
                 "accessPolicy"}
MUTABLE_FIELDS = {"name", "description"}
ACCOUNT_URN = re.compile(r"^urn:li:sponsoredAccount:\d+$")
INPUT_WINDOW_SECONDS = 7 * 24 * 3600
DESTINATION_SEGMENT_ID_BASE = 8_000_000


def member_kind(segment_type: str) -> str:
    """Return USER or COMPANY, the kind of member a segment type holds."""
    return "USER" if segment_type.startswith("USER") else "COMPANY"


def segment_status(segment: sqlite3.Row, settings: SandboxSettings, now: float) -> str:
    """Compute the destination status on the simulated clock.

    BUILDING until `build_delay_seconds` after the first data arrives (forever if none does),
    then READY, and UPDATING for `updating_seconds` after each change made once READY.
    A status pinned through the control API wins over all of this.
    """
    if segment["pinned_status"]:
        return segment["pinned_status"]
    if segment["first_data_at"] is None:
        return "BUILDING"

    ready_at = segment["first_data_at"] + settings.build_delay_seconds
    if now < ready_at:
        return "BUILDING"
    last_change = segment["last_change_at"]
    if last_change is not None and last_change >= ready_at and now < last_change + settings.updating_seconds:
        return "UPDATING"
    return "READY"


def segment_view(db: sqlite3.Connection, segment: sqlite3.Row, settings: SandboxSettings, now: float) -> dict:
    """Render a segment as LinkedIn returns it; counters are left out while BUILDING."""
    status = segment_status(segment, settings, now)
    destination: dict[str, Any] = {
        "destination": "LINKEDIN",
        "destinationSegmentId": segment["destination_segment_id"],
        "status": status,
        "created": int(segment["created_at"] * 1000),
        "lastModified": int(segment["last_modified"] * 1000),
    }
    view: dict[str, Any] = {
        "id": segment["id"],
        "name": segment["name"],
        "account": segment["account"],
        "type": segment["type"],
        "sourcePlatform": segment["source_platform"],
        "created": int(segment["created_at"] * 1000),
        "lastModified": int(segment["last_modified"] * 1000),
    }
    if segment["description"] is not None:
        view["description"] = segment["description"]
    if segment["source_segment_id"] is not None:
        view["sourceSegmentId"] = segment["source_segment_id"]

    if status != "BUILDING":
        received, matched = db.execute(
            "SELECT COALESCE(SUM(received), 0), COALESCE(SUM(matched), 0) FROM input_events"
            " WHERE segment_id = ? AND at > ?",
            (segment["id"], now - INPUT_WINDOW_SECONDS),
        ).fetchone()
        audience_size = db.execute(
            "SELECT COUNT(*) FROM members WHERE segment_id = ? AND matched = 1", (segment["id"],)
        ).fetchone()[0]
        view["inputCount"] = received
        destination["matchedCount"] = matched
        destination["audienceSize"] = audience_size

    view["destinations"] = [destination]
    return view


def load_segment(ctx: Context, segment_id: str) -> sqlite3.Row:
    """Return the segment or raise LinkedIn's 404."""
    row = None
    if segment_id.isdigit():
        row = ctx.db.execute("SELECT * FROM segments WHERE id = ?", (int(segment_id),)).fetchone()
    if row is None:
        raise ApiError(404, f"Could not find DMP segment with ID {segment_id}")
    return row


def load_segment_for_members(ctx: Context, segment_id: str, allowed_types: tuple[str, ...]) -> sqlite3.Row:
    """Return a segment that may take members now, or raise LinkedIn's 404, 403 or 400.

    A segment younger than `segment_ready_delay_seconds` gets 404, as LinkedIn returns right
    after creation.
    """
    segment = load_segment(ctx, segment_id)
    if ctx.now < segment["created_at"] + ctx.settings.segment_ready_delay_seconds:
        raise ApiError(404, f"Could not find DMP segment with ID {segment_id}")
    require_account_access(ctx, segment["account"], write=True)
    if segment["type"] not in allowed_types:
        raise ApiError(
            400,
            f"DMP segment {segment_id} has type {segment['type']}; this endpoint takes {' or '.join(allowed_types)}",
            code="INVALID_SEGMENT_TYPE",
        )
    return segment


def record_input(db: sqlite3.Connection, segment: sqlite3.Row, received: int, matched: int, now: float) -> None:
    """Count received elements toward `inputCount` and move the segment's build status on."""
    if received == 0:
        return
    db.execute(
        "INSERT INTO input_events (segment_id, at, received, matched) VALUES (?, ?, ?, ?)",
        (segment["id"], now, received, matched),
    )
    if segment["first_data_at"] is None:
        db.execute("UPDATE segments SET first_data_at = ?, last_modified = ? WHERE id = ?", (now, now, segment["id"]))
    else:
        db.execute("UPDATE segments SET last_change_at = ?, last_modified = ? WHERE id = ?", (now, now, segment["id"]))


def _validate_create(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise ApiError(400, f"Unrecognized field {unknown[0]!r} in the DMP segment", code="UNKNOWN_FIELD")
    for name in ("name", "account", "type", "sourcePlatform", "destinations"):
        if name not in body:
            raise ApiError(400, f"Missing required field {name!r}", code="MISSING_FIELD")
    for name in ("name", "description", "sourceSegmentId", "account", "type", "sourcePlatform"):
        if name in body and not isinstance(body[name], str):
            raise ApiError(400, f"Field {name!r} must be a string", code="INVALID_FIELD_TYPE")
    if not body["name"].strip():
        raise ApiError(400, "Field 'name' must not be empty", code="INVALID_VALUE")
    if not ACCOUNT_URN.match(body["account"]):
        raise ApiError(400, "Field 'account' must look like urn:li:sponsoredAccount:123", code="INVALID_URN")

    segment_type, platform = body["type"], body["sourcePlatform"]
    if segment_type not in STREAMING_TYPES + LIST_UPLOAD_TYPES:
        raise ApiError(400, f"Field 'type' has unknown value {segment_type!r}", code="INVALID_ENUM_VALUE")
    expected_platform = LIST_UPLOAD_PLATFORM if segment_type in LIST_UPLOAD_TYPES else SOURCE_PLATFORM
    if platform != expected_platform:
        raise ApiError(
            400,
            f"sourcePlatform {platform!r} is not allowed for type {segment_type}; this app's value is"
            f" {expected_platform}",
            code="INVALID_ENUM_VALUE",
        )
    if body["destinations"] != [{"destination": "LINKEDIN"}]:
        raise ApiError(400, "Field 'destinations' must be [{\"destination\": \"LINKEDIN\"}]", code="INVALID_VALUE")
    # NOTE: LinkedIn removed accessPolicy in 202406, but its Postman examples still send it.
    # Whether newer versions reject it is unknown, so the sandbox accepts PRIVATE and drops it.
    if "accessPolicy" in body and body["accessPolicy"] != "PRIVATE":
        raise ApiError(400, "Field 'accessPolicy' must be PRIVATE", code="INVALID_ENUM_VALUE")
    return body


def create_segment(ctx: Context) -> Response:
    """`POST /rest/dmpSegments`: 201 with the new id in `x-restli-id`."""
    body = _validate_create(ctx.json_body())
    require_account_access(ctx, body["account"], write=True)

    count = ctx.db.execute("SELECT COUNT(*) FROM segments WHERE account = ?", (body["account"],)).fetchone()[0]
    if count >= ctx.settings.max_segments_per_account:
        raise ApiError(
            429,
            f"Ad account {body['account']} already has {count} DMP segments, the maximum;"
            " delete unused segments before creating more",
            code="SEGMENT_LIMIT_EXCEEDED",
        )

    # NOTE: LinkedIn does not document its response to a second segment with the same
    # sourceSegmentId. Connectors report 409 for concurrent creates, so the sandbox returns 409.
    source_segment_id = body.get("sourceSegmentId")
    if source_segment_id is not None:
        duplicate = ctx.db.execute(
            "SELECT id FROM segments WHERE account = ? AND source_platform = ? AND source_segment_id = ?",
            (body["account"], body["sourcePlatform"], source_segment_id),
        ).fetchone()
        if duplicate:
            raise ApiError(
                409, f"DMP segment {duplicate['id']} already has sourceSegmentId {source_segment_id!r}"
            )

    cursor = ctx.db.execute(
        "INSERT INTO segments (account, name, description, type, source_platform, source_segment_id,"
        " destination_segment_id, created_at, last_modified) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?)",
        (body["account"], body["name"], body.get("description"), body["type"], body["sourcePlatform"],
         source_segment_id, ctx.now, ctx.now),
    )
    segment_id = cursor.lastrowid
    ctx.db.execute(
        "UPDATE segments SET destination_segment_id = ? WHERE id = ?",
        (f"urn:li:adSegment:{DESTINATION_SEGMENT_ID_BASE + segment_id}", segment_id),
    )
    headers = {"x-restli-id": str(segment_id), "Location": f"/rest/dmpSegments/{segment_id}"}
    return Response(status=201, headers=headers)


def get_segment(ctx: Context, segment_id: str) -> Response:
    """`GET /rest/dmpSegments/{id}`."""
    segment = load_segment(ctx, segment_id)
    require_account_access(ctx, segment["account"], write=False)
    return json_response(segment_view(ctx.db, segment, ctx.settings, ctx.now))


def find_segments(ctx: Context) -> Response:
    """`GET /rest/dmpSegments?q=account&account=...`, filtered by `sourcePlatform` and `sourceSegmentId`."""
    finder = restli.decode_scalar(ctx.params.get("q", ""))
    if finder != "account":
        raise ApiError(400, f"Unsupported finder q={finder!r} on dmpSegments; use q=account")
    if "account" not in ctx.params:
        raise ApiError(400, "Finder q=account needs the account parameter", code="MISSING_PARAMETER")
    account = restli.decode_scalar(ctx.params["account"])
    if not ACCOUNT_URN.match(account):
        raise ApiError(400, "Parameter 'account' must look like urn%3Ali%3AsponsoredAccount%3A123", code="INVALID_URN")
    require_account_access(ctx, account, write=False)

    sql = "SELECT * FROM segments WHERE account = ?"
    args: list[Any] = [account]
    for param, column in (("sourcePlatform", "source_platform"), ("sourceSegmentId", "source_segment_id")):
        if param in ctx.params:
            sql += f" AND {column} = ?"
            args.append(restli.decode_scalar(ctx.params[param]))
    rows = ctx.db.execute(sql + " ORDER BY id", args).fetchall()

    # NOTE: older docs say a finder without start/count returns every segment. The sandbox
    # applies Rest.li's default page of 10, so clients that do not page are caught.
    start, count = restli.paging_params(ctx.params)
    elements = [segment_view(ctx.db, row, ctx.settings, ctx.now) for row in rows[start : start + count]]
    paging = restli.paging_block(ctx.request.path, ctx.params, start, count, len(rows))
    return json_response({"paging": paging, "elements": elements})


def update_segment(ctx: Context, segment_id: str) -> Response:
    """`POST /rest/dmpSegments/{id}` with PARTIAL_UPDATE: `{"patch": {"$set": {...}}}`."""
    segment = load_segment(ctx, segment_id)
    require_account_access(ctx, segment["account"], write=True)

    body = ctx.json_body()
    patch = body.get("patch") if isinstance(body, dict) else None
    if not isinstance(patch, dict) or not set(patch) <= {"$set", "$delete"} or not patch:
        raise ApiError(400, "A partial update body must be {\"patch\": {\"$set\": {...}}}")
    changes = patch.get("$set", {})
    removals = patch.get("$delete", [])
    if not isinstance(changes, dict) or not isinstance(removals, list):
        raise ApiError(400, "$set must be an object and $delete an array of field names")
    for name in [*changes, *removals]:
        if name not in MUTABLE_FIELDS:
            raise ApiError(400, f"Field {name!r} of a DMP segment cannot be updated; only name and description can",
                           code="FIELD_NOT_UPDATABLE")
    if "name" in removals:
        raise ApiError(400, "Field 'name' cannot be deleted", code="FIELD_NOT_UPDATABLE")
    for name, value in changes.items():
        if not isinstance(value, str) or (name == "name" and not value.strip()):
            raise ApiError(400, f"Field {name!r} must be a non-empty string", code="INVALID_FIELD_TYPE")

    values = {**{name: None for name in removals}, **changes}
    for name, value in values.items():
        ctx.db.execute(f"UPDATE segments SET {name} = ? WHERE id = ?", (value, segment["id"]))  # noqa: S608
    ctx.db.execute("UPDATE segments SET last_modified = ? WHERE id = ?", (ctx.now, segment["id"]))
    return Response(status=204)


def delete_segment(ctx: Context, segment_id: str) -> Response:
    """`DELETE /rest/dmpSegments/{id}`: 204, and the segment's members go with it."""
    segment = load_segment(ctx, segment_id)
    require_account_access(ctx, segment["account"], write=True)
    for table, column in (("members", "segment_id"), ("input_events", "segment_id"), ("segments", "id")):
        ctx.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (segment["id"],))  # noqa: S608
    return Response(status=204)
