"""The request log's privacy rules: no tokens, secrets, names or unhashed identifiers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from werkzeug.datastructures import Headers

from target_linkedin_audiences.sandbox.validation import COMPANY_FIELDS, USER_FIELDS, is_valid_id_value

REDACTED = "[REDACTED]"
SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}
SECRET_FORM_FIELDS = {"client_secret", "code", "refresh_token", "access_token", "token", "oauth2_access_token"}
NAME_FIELDS = {"firstName", "lastName"}
EMAIL_SHAPE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
ELEMENT_FIELDS = USER_FIELDS | COMPANY_FIELDS


@dataclass(frozen=True)
class SerializedBody:
    """A log body that is already redacted and serialised to JSON text, stored as is."""

    text: str


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
            return redact_json(json.loads(data))
        except ValueError:
            return f"[{len(data)} bytes of invalid JSON, not logged]"
    if mimetype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: REDACTED if name in SECRET_FORM_FIELDS else value for name, value in pairs}
    return f"[{len(data)} bytes of {mimetype or 'unknown type'}, not logged]"


def redact_json(body: Any) -> Any:
    """Return a parsed JSON body with member elements redacted and no email-shaped string left.

    The elements of a BATCH_CREATE lose names and invalid identifiers. Any other string that
    looks like an email address is replaced too, in a body of any shape. So a plaintext email sent
    by mistake, as a title, an email domain or in a malformed body, never lands in the log.
    """
    if isinstance(body, dict) and isinstance(body.get("elements"), list):
        body = {**body, "elements": [_redact_element(element) for element in body["elements"]]}
    return _mask_emails(body)


def redact_element(element: Any) -> Any:
    """Return a BATCH_CREATE element without names, invalid identifiers or unknown fields."""
    return _redact_element(element)


def redact_valid_element(element: dict[str, Any]) -> dict[str, Any]:
    """Return what redact_element returns, for an element that passed validate_element.

    Such an element has only known fields and only valid identifiers, so no identifier needs
    checking again and only the name fields are replaced.
    """
    kept: dict[str, Any] = {}
    for name, value in element.items():
        if name in NAME_FIELDS:
            kept[name] = REDACTED
        elif name == "userIds":
            kept[name] = [{"idType": user_id["idType"], "idValue": user_id["idValue"]} for user_id in value]
        else:
            kept[name] = value
    return kept


def serialize_masked(body: Any) -> str:
    """Serialise a body whose elements are already redacted, with every email-shaped string masked.

    It returns `dumps(_mask_emails(body))`. A string can only be email-shaped if it contains `@`,
    which orjson and json write as is, so when the serialised body has no `@` the walk is skipped.
    """
    text = dumps(body)
    if "@" not in text:
        return text
    return dumps(_mask_emails(body))


def dumps(value: Any) -> str:
    """Serialise with orjson, falling back to json for what orjson rejects (integers over 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _mask_emails(value: Any) -> Any:
    if isinstance(value, str):
        # The substring test keeps the regex off the common case.
        return REDACTED if "@" in value and EMAIL_SHAPE.search(value) else value
    if isinstance(value, dict):
        return {name: _mask_emails(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask_emails(item) for item in value]
    return value


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
