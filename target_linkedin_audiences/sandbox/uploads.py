"""CSV list uploads: `POST /media/upload?media_type=ad_segments` and `.../listUploads`.

Headers are matched case-insensitively, ignoring spaces, hyphens and underscores, so
`E-mail`, `First Name` and `companyname` are all recognised. The sandbox rejects plaintext
e-mails (LinkedIn would hash them itself) so that no plaintext identifier is ever stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import restli
from target_linkedin_audiences.sandbox.errors import ApiError, json_response
from target_linkedin_audiences.sandbox.segments import (
    LIST_UPLOAD_TYPES,
    load_segment_for_members,
    member_kind,
    record_input,
)
from target_linkedin_audiences.sandbox.streaming import apply_member
from target_linkedin_audiences.sandbox.validation import ElementError, validate_element

if TYPE_CHECKING:
    from target_linkedin_audiences.sandbox.context import Context

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 300_000
MEDIA_URN_PREFIX = "urn:li:digitalmediaAsset:"

# Normalised header -> element field. NOTE: LinkedIn's contact-list header spellings are not
# published in full; these follow its Campaign Manager and conversions templates.
USER_HEADERS = {
    "email": "email",
    "sha256email": "email",
    "sha512email": "email",
    "firstname": "firstName",
    "lastname": "lastName",
    "title": "title",
    "jobtitle": "title",
    "employeecompany": "company",
    "employer": "company",
    "company": "company",
    "country": "country",
    "googleaid": "googleAid",
    "googleadvertisingid": "googleAid",
}
COMPANY_HEADERS = {
    "companyname": "companyName",
    "companywebsite": "companyWebsiteDomain",
    "companyemaildomain": "companyEmailDomain",
    "linkedincompanypageurl": "companyPageUrl",
    "stocksymbol": "stockSymbol",
    "industry": "industries",
    "city": "city",
    "state": "state",
    "companycountry": "country",
    "zipcode": "postalCode",
}
HASHED_EMAIL = re.compile(r"^(?:[0-9a-f]{64}|[0-9a-f]{128})$")


def _normalise_header(header: str) -> str:
    return re.sub(r"[\s_\-]", "", header.strip().lower())


def parse_csv(data: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Parse an uploaded CSV into member elements; return its kind (USER or COMPANY) and rows."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "The CSV file is not UTF-8 encoded", code="INVALID_FILE") from None
    reader = csv.reader(io.StringIO(text))
    header_row = next(reader, None)
    if not header_row:
        raise ApiError(400, "The CSV file is empty; the first line must hold the template headers", code="INVALID_FILE")

    headers = [_normalise_header(h) for h in header_row]
    unknown = [raw for raw, norm in zip(header_row, headers) if norm not in USER_HEADERS and norm not in COMPANY_HEADERS]
    if unknown:
        raise ApiError(
            400,
            f"Unknown CSV header {unknown[0]!r}; use LinkedIn's template headers without renaming them",
            code="INVALID_FILE_HEADER",
        )
    is_user = [norm in USER_HEADERS and norm not in COMPANY_HEADERS for norm in headers]
    is_company = [norm in COMPANY_HEADERS and norm not in USER_HEADERS for norm in headers]
    if any(is_user) and any(is_company):
        raise ApiError(400, "The CSV mixes contact and company headers; upload one list type per file",
                       code="INVALID_FILE_HEADER")
    kind = "COMPANY" if any(is_company) else "USER"
    fields = [(USER_HEADERS if kind == "USER" else COMPANY_HEADERS)[norm] for norm in headers]

    rows = []
    for line_number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ApiError(400, f"The CSV has more than {MAX_ROWS} records, the maximum", code="FILE_TOO_LARGE")
        record = {field: value.strip() for field, value in zip(fields, values) if value.strip()}
        rows.append(_row_to_element(kind, record, line_number))
    return kind, rows


def _row_to_element(kind: str, record: dict[str, str], line_number: int) -> dict[str, Any]:
    element: dict[str, Any] = {"action": "ADD"}
    if kind == "USER":
        user_ids = []
        if "email" in record:
            # The value is deliberately left out of the message: it may be a plaintext e-mail.
            if not HASHED_EMAIL.match(record["email"]):
                raise ApiError(
                    400,
                    f"Line {line_number}: the e-mail column holds a value that is not a lowercase SHA-256"
                    " or SHA-512 hex digest; hash e-mails before uploading",
                    code="INVALID_FILE_VALUE",
                )
            id_type = "SHA256_EMAIL" if len(record["email"]) == 64 else "SHA512_EMAIL"
            user_ids.append({"idType": id_type, "idValue": record.pop("email")})
        if "googleAid" in record:
            user_ids.append({"idType": "GOOGLE_AID", "idValue": record.pop("googleAid")})
        if user_ids:
            element["userIds"] = user_ids
    elif "industries" in record:
        record["industries"] = [record["industries"]]
    element.update(record)

    try:
        validate_element(kind, element)
    except ElementError as error:
        raise ApiError(400, f"Line {line_number}: {error.message}", code="INVALID_FILE_VALUE") from None
    return element


def upload_media(ctx: Context) -> Response:
    """`POST /media/upload?media_type=ad_segments`: store a CSV and return its media URN."""
    media_type = restli.decode_scalar(ctx.params.get("media_type", ""))
    if media_type != "ad_segments":
        raise ApiError(400, f"media_type must be ad_segments, not {media_type!r}")
    upload = ctx.request.files.get("fileupload")
    if upload is None:
        raise ApiError(400, "The multipart body needs a part named fileupload holding the CSV file",
                       code="MISSING_PARAMETER")

    data = upload.read()
    ctx.log_body = {"fileupload": {"filename": upload.filename, "bytes": len(data)}}
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(400, f"The file has {len(data)} bytes; the maximum is {MAX_FILE_BYTES} (20 MB)",
                       code="FILE_TOO_LARGE")
    kind, rows = parse_csv(data)
    ctx.log_body["fileupload"].update({"kind": kind, "rows": len(rows)})

    urn = MEDIA_URN_PREFIX + secrets.token_urlsafe(12)
    ctx.db.execute(
        "INSERT INTO media (urn, member, kind, rows, created_at) VALUES (?, ?, ?, ?, ?)",
        (urn, ctx.member, kind, json.dumps(rows), ctx.now),
    )
    # NOTE: the response field of LinkedIn's legacy upload is not documented; `location` is a guess.
    return json_response({"location": urn}, status=201)


def attach_list_upload(ctx: Context, segment_id: str) -> Response:
    """`POST /rest/dmpSegments/{id}/listUploads`: replace the segment's members with a CSV's rows."""
    segment = load_segment_for_members(ctx, segment_id, LIST_UPLOAD_TYPES)
    body = ctx.json_body()
    input_file = body.get("inputFile") if isinstance(body, dict) else None
    if not isinstance(input_file, str):
        raise ApiError(400, "The body must be {\"inputFile\": \"<media URN>\"}", code="MISSING_FIELD")

    media = ctx.db.execute("SELECT * FROM media WHERE urn = ? AND member = ?", (input_file, ctx.member)).fetchone()
    if media is None:
        raise ApiError(400, f"inputFile {input_file!r} is not a file uploaded by this member", code="INVALID_VALUE")
    kind = member_kind(segment["type"])
    if media["kind"] != kind:
        raise ApiError(
            400, f"inputFile holds a {media['kind']} list but segment {segment_id} is {segment['type']}",
            code="INVALID_VALUE",
        )

    # NOTE: whether LinkedIn replaces or appends on a second upload is not documented; the sandbox replaces.
    ctx.db.execute("DELETE FROM members WHERE segment_id = ?", (segment["id"],))
    rows = json.loads(media["rows"])
    matched = sum(apply_member(ctx.db, segment["id"], kind, row, ctx.settings.match_percentage) for row in rows)
    record_input(ctx.db, segment, len(rows), matched, ctx.now)
    return Response(status=201, headers={"x-restli-id": input_file})
