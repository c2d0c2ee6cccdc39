"""Control endpoints under `/_sandbox/`: clock, faults, tokens, segment members and status, log, reset.

They need no token and serve only requests from a loopback address.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import store
from target_linkedin_audiences.sandbox.errors import ApiError, json_response
from target_linkedin_audiences.sandbox.segments import STATUSES, load_segment, member_kind

if TYPE_CHECKING:
    from target_linkedin_audiences.sandbox.context import Context

FAULT_FIELDS = {"method", "path", "status", "count", "headers", "body", "drop_connection", "delay_seconds"}


@dataclass(frozen=True)
class Fault:
    """One injected response, taken by the next request that matches it."""

    status: int | None
    headers: dict[str, str]
    body: Any
    drop_connection: bool
    delay_seconds: float


def path_pattern(glob: str) -> re.Pattern[str]:
    """Compile a fault's path glob: `*` matches any characters within one path segment."""
    parts = (re.escape(part) for part in glob.split("*"))
    return re.compile("^" + "[^/]*".join(parts) + "$")


def take_fault(db: sqlite3.Connection, method: str, path: str) -> Fault | None:
    """Consume one use of the oldest fault matching the request, if any."""
    for row in db.execute("SELECT * FROM faults WHERE remaining > 0 ORDER BY id").fetchall():
        if row["method"] and row["method"].upper() != method.upper():
            continue
        if not path_pattern(row["path"]).match(path):
            continue
        if row["remaining"] <= 1:
            db.execute("DELETE FROM faults WHERE id = ?", (row["id"],))
        else:
            db.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],))
        return Fault(
            status=row["status"],
            headers=json.loads(row["headers"]),
            body=json.loads(row["body"]) if row["body"] is not None else None,
            drop_connection=bool(row["drop_connection"]),
            delay_seconds=row["delay_seconds"],
        )
    return None


def _object_body(ctx: Context) -> dict[str, Any]:
    body = ctx.json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    return body


def _clock_view(ctx: Context) -> dict[str, float]:
    return {"now": store.now(ctx.db), "offset_seconds": store.clock_offset(ctx.db)}


def get_clock(ctx: Context) -> Response:
    return json_response(_clock_view(ctx))


def advance_clock(ctx: Context) -> Response:
    """`POST /_sandbox/clock` `{"advance_seconds": N}`."""
    seconds = _object_body(ctx).get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ApiError(400, "advance_seconds must be a number of seconds, zero or more")
    store.advance_clock(ctx.db, seconds)
    return json_response(_clock_view(ctx))


def add_fault(ctx: Context) -> Response:
    """`POST /_sandbox/faults`: the next `count` matching requests get this response."""
    body = _object_body(ctx)
    unknown = sorted(set(body) - FAULT_FIELDS)
    if unknown:
        raise ApiError(400, f"Unknown fault field {unknown[0]!r}; known fields: {', '.join(sorted(FAULT_FIELDS))}")
    if not isinstance(body.get("path"), str) or not body["path"].startswith("/"):
        raise ApiError(400, "A fault needs a path glob starting with /, such as /rest/dmpSegments/*/users")

    status = body.get("status")
    drop = bool(body.get("drop_connection", False))
    delay = body.get("delay_seconds", 0)
    count = body.get("count", 1)
    headers = body.get("headers", {})
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise ApiError(400, "status must be an HTTP status code between 100 and 599")
    if not isinstance(count, int) or count < 1:
        raise ApiError(400, "count must be a whole number, 1 or more")
    if not isinstance(delay, (int, float)) or delay < 0:
        raise ApiError(400, "delay_seconds must be a number of seconds, zero or more")
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ApiError(400, "headers must be an object of string values")
    if status is None and not drop and not delay:
        raise ApiError(400, "A fault needs status, drop_connection or delay_seconds")

    method = body.get("method")
    cursor = ctx.db.execute(
        "INSERT INTO faults (method, path, status, headers, body, drop_connection, delay_seconds, remaining)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (method.upper() if isinstance(method, str) else None, body["path"], status, json.dumps(headers),
         json.dumps(body["body"]) if "body" in body else None, int(drop), float(delay), count),
    )
    return json_response({"id": cursor.lastrowid, **body, "count": count}, status=201)


def list_faults(ctx: Context) -> Response:
    rows = ctx.db.execute("SELECT id, method, path, status, remaining FROM faults ORDER BY id").fetchall()
    return json_response({"faults": [dict(row) for row in rows]})


def clear_faults(ctx: Context) -> Response:
    ctx.db.execute("DELETE FROM faults")
    return Response(status=204)


def _token_row(ctx: Context) -> sqlite3.Row:
    token = _object_body(ctx).get("token")
    if not isinstance(token, str) or not token:
        raise ApiError(400, "The body must be {\"token\": \"<access or refresh token>\"}")
    row = ctx.db.execute("SELECT token, kind FROM tokens WHERE token = ?", (token,)).fetchone()
    if row is None:
        raise ApiError(404, "No such access or refresh token")
    return row


def expire_token(ctx: Context) -> Response:
    """`POST /_sandbox/tokens/expire`: the token's expiry becomes the current simulated time."""
    row = _token_row(ctx)
    ctx.db.execute("UPDATE tokens SET expires_at = ? WHERE token = ?", (ctx.now, row["token"]))
    return json_response({"kind": row["kind"], "status": "expired"})


def revoke_token(ctx: Context) -> Response:
    """`POST /_sandbox/tokens/revoke`: only the named token is revoked, not its pair."""
    row = _token_row(ctx)
    ctx.db.execute("UPDATE tokens SET revoked = 1 WHERE token = ?", (row["token"],))
    return json_response({"kind": row["kind"], "status": "revoked"})


def segment_members(ctx: Context, segment_id: str) -> Response:
    """`GET /_sandbox/segments/{id}/members`: the element fields LinkedIn received, without `action`."""
    segment = load_segment(ctx, segment_id)
    rows = ctx.db.execute(
        "SELECT element FROM members WHERE segment_id = ? ORDER BY rowid", (segment["id"],)
    ).fetchall()
    members = [json.loads(row["element"]) for row in rows]
    return json_response({"type": member_kind(segment["type"]), "members": members})


def set_segment_status(ctx: Context, segment_id: str) -> Response:
    """`POST /_sandbox/segments/{id}/status` `{"status": "FAILED"}` pins a status; `null` unpins it."""
    segment = load_segment(ctx, segment_id)
    status = _object_body(ctx).get("status")
    if status is not None and status not in STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(STATUSES)}, or null to follow the simulation")
    ctx.db.execute("UPDATE segments SET pinned_status = ? WHERE id = ?", (status, segment["id"]))
    return json_response({"id": segment["id"], "pinned_status": status})


def list_requests(ctx: Context) -> Response:
    """`GET /_sandbox/requests[?since=SEQ]`: logged API and OAuth requests, oldest first."""
    try:
        since = int(ctx.request.args.get("since", "0"))
    except ValueError:
        raise ApiError(400, "since must be a request sequence number") from None
    rows = ctx.db.execute("SELECT * FROM requests WHERE seq > ? ORDER BY seq", (since,)).fetchall()
    requests = [
        {
            "seq": row["seq"],
            "at": row["at"],
            "method": row["method"],
            "path": row["path"],
            "query": row["query"],
            "headers": json.loads(row["headers"]),
            "body": json.loads(row["body"]) if row["body"] is not None else None,
            "status": row["status"],
        }
        for row in rows
    ]
    return json_response({"requests": requests})


def reset(ctx: Context) -> Response:
    """`POST /_sandbox/reset`: delete all state, including the clock offset and the log."""
    store.clear_tables(ctx.db)
    return json_response({"reset": True})
