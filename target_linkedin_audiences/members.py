"""Map records to LinkedIn Matched Audiences members: normalise, hash and validate.

`MemberMapper` is built once per stream from a segment type and a field mapping, and its
`map()` turns one record into a `MappedMember` (the element to send, without `action`) or a
`SkippedRecord` with a reason code. No plaintext email ever leaves `map()`: emails are hashed
inside it, and skip details name the record property, never its value.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from target_linkedin_audiences.company_values import (
    normalize_domain,
    normalize_email_domain,
    normalize_industries,
    normalize_organization_urn,
    normalize_page_url,
    normalize_postal_code,
    normalize_stock_symbol,
)
from target_linkedin_audiences.normalize import (
    GOOGLE_AID,
    SHA256_EMAIL,
    SHA512_EMAIL,
    canonical_email,
    classify_email,
    clean_text,
    hash_email,
    is_blank,
    memoize_strings,
    normalize_country,
    normalize_google_aid,
    truncate_text,
)

__all__ = [
    "COMPANY_FIELDS",
    "COMPANY_IDENTIFYING_FIELDS",
    "GOOGLE_AID",
    "SHA256_EMAIL",
    "SHA512_EMAIL",
    "SKIP_REASONS",
    "USER_FIELDS",
    "MappedMember",
    "MemberMapper",
    "SkippedRecord",
    "canonical_email",
    "hash_email",
    "normalize_country",
    "normalize_domain",
    "normalize_email_domain",
    "normalize_google_aid",
    "normalize_industries",
    "normalize_organization_urn",
    "normalize_page_url",
    "normalize_postal_code",
    "normalize_stock_symbol",
    "redact_element",
]

# Field limits of the elements sent to /rest/dmpSegments/{id}/users and /companies.
# NOTE: these come from integrator docs (Tealium, HCL Unica Link, Treasure Data) that mirror
# LinkedIn's schema table, not from LinkedIn's own text.
FIRST_NAME_MAX_CHARS = 35
LAST_NAME_MAX_CHARS = 35
TITLE_MAX_CHARS = 50
COMPANY_MAX_CHARS = 50
COMPANY_PAGE_URL_MAX_CHARS = 100
STOCK_SYMBOL_MAX_CHARS = 5
INDUSTRIES_MAX_ITEMS = 3
INDUSTRY_MAX_CHARS = 50
CITY_MAX_CHARS = 50
STATE_MAX_CHARS = 50
POSTAL_CODE_MAX_CHARS = 20

USER_FIELDS = ("email", "googleAid", "firstName", "lastName", "title", "company", "country")
USER_IDENTIFYING_FIELDS = ("email", "googleAid")
COMPANY_FIELDS = (
    "companyName",
    "companyWebsiteDomain",
    "companyEmailDomain",
    "organizationUrn",
    "companyPageUrl",
    "stockSymbol",
    "industries",
    "city",
    "state",
    "country",
    "postalCode",
)
# The order is also the order of the fields in a company member's dedupe key.
COMPANY_IDENTIFYING_FIELDS = (
    "organizationUrn",
    "companyWebsiteDomain",
    "companyEmailDomain",
    "companyPageUrl",
    "companyName",
)

NO_IDENTIFIER = "no_identifier"
INVALID_EMAIL = "invalid_email"
INVALID_IDENTIFIER = "invalid_identifier"
SKIP_REASONS = (NO_IDENTIFIER, INVALID_EMAIL, INVALID_IDENTIFIER)

REDACTED = "[redacted]"
_REDACTED_USER_FIELDS = ("firstName", "lastName")


@dataclass(slots=True)
class MappedMember:
    """A record mapped to a LinkedIn member element (without `action`).

    `key` is a stable dedupe key: the first userId's digest for USER (a SHA-256 of the id for
    a Google advertising id, so no plaintext id is stored), and a SHA-256 of the canonical
    identifying fields for COMPANY. `invalid_fields` names optional fields dropped as invalid.
    """

    element: dict
    key: str
    prehashed: bool = False
    invalid_fields: tuple[str, ...] = ()


@dataclass(slots=True)
class SkippedRecord:
    """A record that cannot become a member: a reason from SKIP_REASONS and a safe detail."""

    reason: str
    detail: str


Getter = Callable[[Mapping], object]
Normalizer = Callable[[object], object]


def _make_getter(property_name: str) -> Getter:
    """Compile a property reference into a getter.

    The exact key is tried first. A name with dots that is not a key is followed as a path
    into nested objects (`properties.email`). A `{"value": ...}` object at the end, as
    singer-io's tap-hubspot emits, is unwrapped.
    """
    if "." not in property_name:

        def get_plain(record: Mapping) -> object:
            value = record.get(property_name)
            if type(value) is dict and "value" in value:
                return value["value"]
            return value

        return get_plain

    path = tuple(property_name.split("."))

    def get_path(record: Mapping) -> object:
        if property_name in record:
            value = record[property_name]
        else:
            value = record
            for part in path:
                if not isinstance(value, Mapping):
                    return None
                value = value.get(part)
        if type(value) is dict and "value" in value:
            return value["value"]
        return value

    return get_path


def _describe_properties(names: list[str]) -> str:
    label = "property" if len(names) == 1 else "properties"
    return f"{label} {', '.join(repr(name) for name in names)}"


def _text_normalizer(limit: int) -> Normalizer:
    return functools.partial(truncate_text, limit=limit)


# Distinct values each memoised user field keeps per mapper. Titles, company names, first names
# and countries repeat across a CRM export, so most values are looked up instead of normalised.
MEMO_MAX_VALUES = 4096


def _industries(value: object) -> object:
    names, had_invalid = normalize_industries(value, INDUSTRIES_MAX_ITEMS, INDUSTRY_MAX_CHARS)
    if names is None:
        return None
    if had_invalid:
        return _PartlyInvalid(names)
    return names


class _PartlyInvalid:
    """A normalised value that is kept although some of its parts were dropped as invalid."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


_USER_OPTIONAL: dict[str, Normalizer] = {
    "firstName": _text_normalizer(FIRST_NAME_MAX_CHARS),
    "lastName": _text_normalizer(LAST_NAME_MAX_CHARS),
    "title": _text_normalizer(TITLE_MAX_CHARS),
    "company": _text_normalizer(COMPANY_MAX_CHARS),
    "country": normalize_country,
}

_COMPANY_NORMALIZERS: dict[str, Normalizer] = {
    # LinkedIn states no limit for companyName; clean_text still rejects control characters
    # and values longer than normalize.MAX_RAW_CHARS.
    "companyName": clean_text,
    "companyWebsiteDomain": normalize_domain,
    "companyEmailDomain": normalize_email_domain,
    "organizationUrn": normalize_organization_urn,
    "companyPageUrl": lambda value: normalize_page_url(value, COMPANY_PAGE_URL_MAX_CHARS),
    "stockSymbol": lambda value: normalize_stock_symbol(value, STOCK_SYMBOL_MAX_CHARS),
    "industries": _industries,
    "city": _text_normalizer(CITY_MAX_CHARS),
    "state": _text_normalizer(STATE_MAX_CHARS),
    "country": normalize_country,
    "postalCode": lambda value: normalize_postal_code(value, POSTAL_CODE_MAX_CHARS),
}


class MemberMapper:
    """Map the records of one stream to members of a USER or COMPANY segment.

    Args:
        segment_type: `USER` or `COMPANY` (any case).
        fields: LinkedIn member field name (see USER_FIELDS and COMPANY_FIELDS) to the record
            property that contains it. A property with dots that is not a key of the record is
            read as a path into nested objects.

    Raises:
        ValueError: the segment type is unknown, a field name is not accepted for the type, a
            property name is empty or not a string, or no identifying field is mapped.
    """

    def __init__(self, segment_type: str, fields: Mapping[str, str]) -> None:
        if not isinstance(segment_type, str) or segment_type.upper() not in ("USER", "COMPANY"):
            raise ValueError(
                f"invalid segment type {segment_type!r}: expected 'USER' or 'COMPANY'"
            )
        self.segment_type = segment_type.upper()
        self.fields = dict(fields)
        accepted = USER_FIELDS if self.segment_type == "USER" else COMPANY_FIELDS
        identifying = (
            USER_IDENTIFYING_FIELDS if self.segment_type == "USER" else COMPANY_IDENTIFYING_FIELDS
        )

        for field_name, property_name in self.fields.items():
            if field_name not in accepted:
                raise ValueError(
                    f"unknown LinkedIn field {field_name!r} for a {self.segment_type} segment. "
                    f"Accepted fields: {', '.join(accepted)}"
                )
            if not isinstance(property_name, str) or not property_name.strip():
                raise ValueError(
                    f"invalid record property for LinkedIn field {field_name!r}: "
                    "expected a non-empty property name"
                )
        if not any(name in self.fields for name in identifying):
            raise ValueError(
                f"missing identifying field in the mapping of a {self.segment_type} segment: "
                f"map at least one of {', '.join(identifying)} "
                f"(mapped now: {', '.join(self.fields) or 'nothing'})"
            )

        if self.segment_type == "USER":
            self._compile_user()
        else:
            self._compile_company()

    def _compile_user(self) -> None:
        email_property = self.fields.get("email")
        aid_property = self.fields.get("googleAid")
        self._email_property = email_property
        self._aid_property = aid_property
        self._get_email = _make_getter(email_property) if email_property else None
        self._get_aid = _make_getter(aid_property) if aid_property else None
        self._no_identifier_detail = (
            "no email or Google advertising id: "
            f"{_describe_properties([p for p in (email_property, aid_property) if p])} "
            "missing or blank"
        )
        # A step reads a plain property with dict.get, inline, and a dotted one with its getter.
        self._user_steps = tuple(
            (
                field_name,
                self.fields[field_name],
                None if "." not in self.fields[field_name] else _make_getter(self.fields[field_name]),
                memoize_strings(normalizer, MEMO_MAX_VALUES),
            )
            for field_name, normalizer in _USER_OPTIONAL.items()
            if field_name in self.fields
        )
        self._map = self._map_user

    def _compile_company(self) -> None:
        self._company_steps = tuple(
            (
                field_name,
                self.fields[field_name],
                _make_getter(self.fields[field_name]),
                normalizer,
                field_name in COMPANY_IDENTIFYING_FIELDS,
            )
            for field_name, normalizer in _COMPANY_NORMALIZERS.items()
            if field_name in self.fields
        )
        identifying_properties = [
            self.fields[name] for name in COMPANY_IDENTIFYING_FIELDS if name in self.fields
        ]
        self._no_identifier_detail = (
            f"no company identifier: {_describe_properties(identifying_properties)} "
            "missing or blank"
        )
        self._map = self._map_company

    def map(self, record: Mapping) -> MappedMember | SkippedRecord:
        """Map one record to a member, or return why it was skipped."""
        return self._map(record)

    def _map_user(self, record: Mapping) -> MappedMember | SkippedRecord:
        user_ids: list[dict] = []
        invalid: list[str] = []
        prehashed = False
        email_reason = None

        if self._get_email is not None:
            raw_email = self._get_email(record)
            if not is_blank(raw_email):
                result = classify_email(raw_email)
                if type(result) is str:
                    email_reason = result
                    invalid.append("email")
                else:
                    user_ids.append({"idType": result[0], "idValue": result[1]})
                    prehashed = result[2]

        aid_invalid = False
        if self._get_aid is not None:
            raw_aid = self._get_aid(record)
            if not is_blank(raw_aid):
                aid = normalize_google_aid(raw_aid)
                if aid is None:
                    aid_invalid = True
                    invalid.append("googleAid")
                else:
                    user_ids.append({"idType": GOOGLE_AID, "idValue": aid})

        if not user_ids:
            return self._user_skip(email_reason, aid_invalid)

        element: dict = {"userIds": user_ids}
        get = record.get
        for field_name, property_name, getter, normalizer in self._user_steps:
            raw = get(property_name) if getter is None else getter(record)
            if raw is None:
                continue
            if type(raw) is dict and "value" in raw:
                raw = raw["value"]
            # Every normaliser returns None for a blank value too; only a value that is not
            # blank counts as invalid.
            value = normalizer(raw)
            if value is None:
                if not is_blank(raw):
                    invalid.append(field_name)
            else:
                element[field_name] = value

        first = user_ids[0]
        if first["idType"] == GOOGLE_AID:
            key = hashlib.sha256(f"{GOOGLE_AID}:{first['idValue']}".encode()).hexdigest()
        else:
            key = first["idValue"]
        return MappedMember(element, key, prehashed, tuple(invalid))

    def _user_skip(self, email_reason: str | None, aid_invalid: bool) -> SkippedRecord:
        if email_reason == INVALID_EMAIL:
            return SkippedRecord(INVALID_EMAIL, f"invalid email in property {self._email_property!r}")
        if email_reason == INVALID_IDENTIFIER:
            return SkippedRecord(
                INVALID_IDENTIFIER,
                f"property {self._email_property!r} looks like a digest but is not a "
                "64- or 128-digit hex SHA-256 or SHA-512 value",
            )
        if aid_invalid:
            return SkippedRecord(
                INVALID_IDENTIFIER,
                f"invalid Google advertising id in property {self._aid_property!r}",
            )
        return SkippedRecord(NO_IDENTIFIER, self._no_identifier_detail)

    def _map_company(self, record: Mapping) -> MappedMember | SkippedRecord:
        element: dict = {}
        invalid: list[str] = []
        invalid_identifying: list[str] = []

        for field_name, property_name, getter, normalizer, identifying in self._company_steps:
            raw = getter(record)
            if is_blank(raw):
                continue
            value = normalizer(raw)
            if type(value) is _PartlyInvalid:
                invalid.append(field_name)
                value = value.value
            if value is None:
                invalid.append(field_name)
                if identifying:
                    invalid_identifying.append(property_name)
            else:
                element[field_name] = value

        key_parts = [
            f"{name}={element[name].casefold() if name == 'companyName' else element[name]}"
            for name in COMPANY_IDENTIFYING_FIELDS
            if name in element
        ]
        if not key_parts and invalid_identifying:
            return SkippedRecord(
                INVALID_IDENTIFIER,
                "no valid company identifier: invalid value in "
                f"{_describe_properties(invalid_identifying)}",
            )
        if not key_parts:
            return SkippedRecord(NO_IDENTIFIER, self._no_identifier_detail)

        key = hashlib.sha256("\x1f".join(key_parts).encode("utf-8")).hexdigest()
        return MappedMember(element, key, False, tuple(invalid))


def redact_element(element: dict) -> dict:
    """Return a copy of a member element that is safe for dry-run files, reject files and logs.

    Hashed email ids are kept. Plaintext personal values are replaced by `[redacted]`:
    `firstName`, `lastName` and Google advertising ids. Company fields are business data and
    stay as they are.
    """
    redacted = dict(element)
    for field_name in _REDACTED_USER_FIELDS:
        if field_name in redacted:
            redacted[field_name] = REDACTED
    user_ids = redacted.get("userIds")
    if isinstance(user_ids, list):
        redacted["userIds"] = [
            {**user_id, "idValue": REDACTED}
            if isinstance(user_id, dict) and user_id.get("idType") not in (SHA256_EMAIL, SHA512_EMAIL)
            else user_id
            for user_id in user_ids
        ]
    return redacted
