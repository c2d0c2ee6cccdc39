"""The request log's privacy rules: no tokens, secrets, names or unhashed identifiers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import Headers

from target_linkedin_audiences.sandbox.validation import COMPANY_FIELDS, USER_FIELDS, is_valid_id_value

REDACTED = "[REDACTED]"
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}
SECRET_FORM_FIELDS = {"client_secret", "code", "refresh_token", "access_token", "token", "oauth2_access_token"}
NAME_FIELDS = {"firstName", "lastName"}
ELEMENT_FIELDS = USER_FIELDS | COMPANY_FIELDS


def redact_headers(headers: Headers) -> dict[str, str]:
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


def redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name in SECRET_FORM_FIELDS for name, _ in pairs):
        return query
    return urlencode([(name, REDACTED if name in SECRET_FORM_FIELDS else value) for name, value in pairs])


def redact_body(mimetype: str, data: bytes, summary: Any = None) -> Any:
    """Return what the log keeps of a request body.

    JSON is kept with member names and invalid identifiers replaced, forms with secrets
    replaced, and anything else (CSV uploads included) only as a summary.
    """
    if summary is not None:
        return summary
    if not data:
        return None
    if mimetype == "application/json":
        try:
            return _redact_json(json.loads(data))
        except ValueError:
            return f"[{len(data)} bytes of invalid JSON, not logged]"
    if mimetype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: REDACTED if name in SECRET_FORM_FIELDS else value for name, value in pairs}
    return f"[{len(data)} bytes of {mimetype or 'unknown type'}, not logged]"


def _redact_json(body: Any) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
        return body
    return {**body, "elements": [_redact_element(element) for element in body["elements"]]}


def _redact_element(element: Any) -> Any:
    if not isinstance(element, dict):
        return REDACTED
    kept: dict[str, Any] = {}
    for name, value in element.items():
        if name in NAME_FIELDS or name not in ELEMENT_FIELDS:
            kept[name] = REDACTED
        elif name == "userIds":
            kept[name] = _redact_user_ids(value)
        else:
            kept[name] = value
    return kept


def _redact_user_ids(user_ids: Any) -> Any:
    if not isinstance(user_ids, list):
        return REDACTED
    kept = []
    for user_id in user_ids:
        if not isinstance(user_id, dict):
            kept.append(REDACTED)
            continue
        id_type, id_value = user_id.get("idType"), user_id.get("idValue")
        kept.append({
            "idType": id_type,
            "idValue": id_value if is_valid_id_value(id_type, id_value) else REDACTED,
        })
    return kept
