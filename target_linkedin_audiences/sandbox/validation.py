"""Per-element validation of streamed USER and COMPANY members, with LinkedIn's field limits."""

from __future__ import annotations

import re
from typing import Any

import pycountry

from target_linkedin_audiences.sandbox.matching import COMPANY_IDENTIFIER_FIELDS

ID_VALUE_PATTERNS = {
    "SHA256_EMAIL": re.compile(r"^[0-9a-f]{64}$"),
    "SHA512_EMAIL": re.compile(r"^[0-9a-f]{128}$"),
    "GOOGLE_AID": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
    # NOTE: APPLE_IDFA is in older vendor docs only and may be retired; the sandbox still accepts it.
    "APPLE_IDFA": re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$"),
}
ID_VALUE_FORMATS = {
    "SHA256_EMAIL": "64 lowercase hex digits (a SHA-256 digest)",
    "SHA512_EMAIL": "128 lowercase hex digits (a SHA-512 digest)",
    "GOOGLE_AID": "a lowercase advertising id such as 38400000-8cf0-11bd-b23e-10b96e40000d",
    "APPLE_IDFA": "an uppercase IDFA such as 6D92078A-8246-4BA4-AE5B-76104861E7DC",
}

USER_LIMITS = {"firstName": 35, "lastName": 35, "title": 50, "company": 50}
COMPANY_LIMITS = {"companyPageUrl": 100, "stockSymbol": 5, "city": 50, "state": 50, "postalCode": 20}
USER_FIELDS = frozenset({"action", "userIds", *USER_LIMITS, "country"})
COMPANY_FIELDS = frozenset({"action", *COMPANY_IDENTIFIER_FIELDS, *COMPANY_LIMITS, "industries", "country"})
USER_ID_FIELDS = frozenset({"idType", "idValue"})
# pycountry's alpha-2 codes are all upper case, so membership alone checks the case too.
COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries)
MAX_INDUSTRIES = 3
MAX_INDUSTRY_LENGTH = 50
ORGANIZATION_URN = re.compile(r"^urn:li:organization:\d+$")


class ElementError(Exception):
    """One invalid element: a code and a message that never repeat the rejected value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_valid_id_value(id_type: Any, id_value: Any) -> bool:
    pattern = ID_VALUE_PATTERNS.get(id_type) if isinstance(id_type, str) else None
    return pattern is not None and isinstance(id_value, str) and bool(pattern.match(id_value))


def is_country_code(value: Any) -> bool:
    """Return whether `value` is an ISO 3166-1 alpha-2 code in upper case, such as `US`."""
    return isinstance(value, str) and value in COUNTRY_CODES


def validate_element(segment_kind: str, element: Any) -> None:
    """Raise ElementError when a USER or COMPANY element breaks one of LinkedIn's rules."""
    if not isinstance(element, dict):
        raise ElementError("INVALID_ELEMENT", "An element must be a JSON object")

    allowed = USER_FIELDS if segment_kind == "USER" else COMPANY_FIELDS
    if not element.keys() <= allowed:
        unknown = sorted(set(element) - allowed)
        raise ElementError("UNKNOWN_FIELD", f"Unrecognized field {unknown[0]!r} in a {segment_kind} element")

    action = element.get("action")
    if action not in ("ADD", "REMOVE"):
        raise ElementError("INVALID_ACTION", "Field 'action' must be ADD or REMOVE")

    if "country" in element and not is_country_code(element["country"]):
        raise ElementError(
            "INVALID_COUNTRY", "Field 'country' must be an ISO 3166-1 alpha-2 code in upper case, such as US"
        )

    if segment_kind == "USER":
        _validate_user(element)
    else:
        _validate_company(element)


def _check_lengths(element: dict[str, Any], limits: dict[str, int]) -> None:
    for name, limit in limits.items():
        if name not in element:
            continue
        value = element[name]
        if not isinstance(value, str):
            raise ElementError("INVALID_FIELD_TYPE", f"Field {name!r} must be a string")
        if len(value) > limit:
            raise ElementError(
                "FIELD_TOO_LONG", f"Field {name!r} has {len(value)} characters; the maximum is {limit}"
            )


def _validate_user(element: dict[str, Any]) -> None:
    _check_lengths(element, USER_LIMITS)

    user_ids = element.get("userIds", [])
    if not isinstance(user_ids, list):
        raise ElementError("INVALID_FIELD_TYPE", "Field 'userIds' must be an array of {idType, idValue}")
    for position, user_id in enumerate(user_ids):
        if not isinstance(user_id, dict) or user_id.keys() != USER_ID_FIELDS:
            raise ElementError(
                "INVALID_USER_ID", f"userIds[{position}] must be an object with exactly idType and idValue"
            )
        id_type = user_id["idType"]
        if id_type not in ID_VALUE_PATTERNS:
            raise ElementError(
                "INVALID_ID_TYPE",
                f"userIds[{position}].idType {id_type!r} is not one of {', '.join(ID_VALUE_PATTERNS)}",
            )
        if not is_valid_id_value(id_type, user_id["idValue"]):
            raise ElementError(
                "INVALID_ID_VALUE",
                f"userIds[{position}].idValue is not a valid {id_type}: expected {ID_VALUE_FORMATS[id_type]}",
            )

    if not user_ids and not (element.get("firstName") and element.get("lastName")):
        raise ElementError(
            "MISSING_IDENTIFIER", "A user element needs at least one userIds entry, or both firstName and lastName"
        )


def _validate_company(element: dict[str, Any]) -> None:
    _check_lengths(element, COMPANY_LIMITS)

    for name in COMPANY_IDENTIFIER_FIELDS:
        if name in element and not isinstance(element[name], str):
            raise ElementError("INVALID_FIELD_TYPE", f"Field {name!r} must be a string")
    if not any(element.get(name) for name in COMPANY_IDENTIFIER_FIELDS):
        raise ElementError(
            "MISSING_IDENTIFIER",
            f"A company element needs at least one of {', '.join(COMPANY_IDENTIFIER_FIELDS)}",
        )
    if element.get("organizationUrn") and not ORGANIZATION_URN.match(element["organizationUrn"]):
        raise ElementError("INVALID_URN", "Field 'organizationUrn' must look like urn:li:organization:12345")

    industries = element.get("industries", [])
    if not isinstance(industries, list) or not all(isinstance(item, str) for item in industries):
        raise ElementError("INVALID_FIELD_TYPE", "Field 'industries' must be an array of strings")
    if len(industries) > MAX_INDUSTRIES:
        raise ElementError(
            "TOO_MANY_INDUSTRIES", f"Field 'industries' has {len(industries)} entries; the maximum is {MAX_INDUSTRIES}"
        )
    for industry in industries:
        if len(industry) > MAX_INDUSTRY_LENGTH:
            raise ElementError(
                "FIELD_TOO_LONG", f"An industry has {len(industry)} characters; the maximum is {MAX_INDUSTRY_LENGTH}"
            )
