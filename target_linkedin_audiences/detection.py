"""Detect a stream's segment type and field mapping from its Singer schema.

Property names are compared after lowercasing and removing everything but letters and
digits, so `First Name`, `first_name`, `firstName` and `FirstName` are the same name.
Nested HubSpot properties are found in three shapes:

- MeltanoLabs tap-hubspot: a `properties` object with plain values (`properties.email`).
- singer-io tap-hubspot: `properties.email` and the copy `property_email`, each an object
  `{"value": ..., ...}`; MemberMapper unwraps the `value`.
- Flattened exports: `properties__email` (Meltano flattening) or `properties_email`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from target_linkedin_audiences.members import COMPANY_IDENTIFYING_FIELDS

_NON_ALNUM_RE = re.compile(r"[^a-z0-9]")
_FLATTENED_PREFIX_RE = re.compile(r"^propert(?:y|ies)_+", re.IGNORECASE)


@dataclass(slots=True)
class DetectedSegment:
    """A detected mapping: segment type, LinkedIn field to property path, and what matched."""

    segment_type: str
    fields: dict[str, str]
    source: str

    def describe(self) -> str:
        """Return one log line, such as `USER from Salesforce Contact: email=Email, ...`."""
        mapping = ", ".join(f"{field}={path}" for field, path in self.fields.items())
        return f"{self.segment_type} from {self.source}: {mapping}"


# Candidate property names per LinkedIn field, in order of preference, already normalised.
# Salesforce API names (Contact, Lead, Account), HubSpot internal names and common export
# headers share one list because their normalised forms do not clash.
USER_CANDIDATES: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "emailaddress", "workemail", "businessemail", "primaryemail", "email1",
        "contactemail", "sha256email", "emailsha256", "hashedemail", "emailhash",
    ),
    "googleAid": ("googleaid", "gaid", "googleadvertisingid", "googleadid"),
    "firstName": ("firstname", "givenname", "fname"),
    "lastName": ("lastname", "surname", "familyname", "lname"),
    "title": ("title", "jobtitle", "position"),
    # "company" is the Salesforce Lead and HubSpot contact field; tap-salesforce sends only
    # AccountId on a Contact, so Account.Name appears only in flattened or custom exports.
    "company": (
        "company", "companyname", "accountname", "account", "employer", "organization",
        "organisation",
    ),
    # Salesforce's *CountryCode fields exist when State and Country picklists are enabled.
    "country": (
        "countrycode", "mailingcountrycode", "country", "mailingcountry", "countryname",
    ),
}

COMPANY_CANDIDATES: dict[str, tuple[str, ...]] = {
    "companyName": (
        "companyname", "accountname", "organizationname", "organisationname", "company",
    ),
    "companyWebsiteDomain": (
        "domain", "companydomain", "websitedomain", "website", "companywebsite", "websiteurl",
    ),
    "companyEmailDomain": ("emaildomain", "companyemaildomain"),
    "organizationUrn": (
        "organizationurn", "linkedinorganizationurn", "linkedincompanyid", "linkedinorgid",
    ),
    "companyPageUrl": (
        "linkedincompanypage", "linkedincompanypageurl", "companypageurl", "linkedinurl",
        "linkedinpage",
    ),
    "stockSymbol": ("tickersymbol", "stocksymbol", "ticker"),
    "industries": ("industries", "industry"),
    "city": ("city", "billingcity"),
    "state": ("state", "billingstate", "region"),
    "country": ("countrycode", "billingcountrycode", "country", "billingcountry"),
    "postalCode": ("postalcode", "zip", "zipcode", "billingpostalcode", "postcode"),
}

# A bare "name" is a company name only in a company-like stream or next to another company
# identifier, because people streams (Salesforce Contact, HubSpot owners) also have "name".
_COMPANY_STREAM_WORDS = ("account", "compan", "organi", "org")
_SALESFORCE_OBJECTS = {"contact": "Contact", "lead": "Lead", "account": "Account"}


def normalize_property_name(name: str) -> str:
    """Return a property name lowercased with everything but letters and digits removed."""
    return _NON_ALNUM_RE.sub("", name.lower())


def _types_of(schema: object) -> set[str]:
    if not isinstance(schema, Mapping):
        return set()
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {item for item in declared if isinstance(item, str)}
    types: set[str] = set()
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key) or ():
            types |= _types_of(option)
    return types


def _is_scalar(schema: object) -> bool:
    """Return True for a string, number or integer property, or a `{"value": ...}` object."""
    types = _types_of(schema) - {"null"}
    if not types:
        # A property without a type accepts anything, so it may contain the value.
        return isinstance(schema, Mapping)
    if types & {"string", "number", "integer"}:
        return True
    if "object" in types and isinstance(schema, Mapping):
        nested = schema.get("properties")
        return isinstance(nested, Mapping) and "value" in nested
    return False


def _index_properties(schema: Mapping) -> tuple[dict[str, str], dict[str, str]]:
    """Return normalised name to property path for scalar and for array properties.

    Top-level names come first, then flattened `property_`/`properties__` names, then the
    members of a nested `properties` object, so a top-level column wins a clash.
    """
    scalars: dict[str, str] = {}
    arrays: dict[str, str] = {}
    top = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(top, Mapping):
        return scalars, arrays

    def add(normalised: str, path: str, property_schema: object) -> None:
        if not normalised:
            return
        if _is_scalar(property_schema):
            scalars.setdefault(normalised, path)
        elif "array" in _types_of(property_schema):
            arrays.setdefault(normalised, path)

    for name, property_schema in top.items():
        if isinstance(name, str):
            add(normalize_property_name(name), name, property_schema)
    for name, property_schema in top.items():
        if isinstance(name, str) and _FLATTENED_PREFIX_RE.match(name):
            stripped = _FLATTENED_PREFIX_RE.sub("", name)
            add(normalize_property_name(stripped), name, property_schema)
    nested = top.get("properties")
    if isinstance(nested, Mapping) and isinstance(nested.get("properties"), Mapping):
        for name, property_schema in nested["properties"].items():
            if isinstance(name, str):
                add(normalize_property_name(name), f"properties.{name}", property_schema)
    return scalars, arrays


def _pick(
    candidates: dict[str, tuple[str, ...]], scalars: dict[str, str], arrays: dict[str, str]
) -> dict[str, str]:
    fields: dict[str, str] = {}
    used: set[str] = set()
    for field_name, names in candidates.items():
        for name in names:
            path = scalars.get(name)
            if path is None and field_name == "industries":
                path = arrays.get(name)
            if path is not None and path not in used:
                fields[field_name] = path
                used.add(path)
                break
    return fields


def _stream_object(stream_name: str) -> str:
    """Return the last word of a stream name, lowercased (`salesforce-Contact` → `contact`)."""
    return re.split(r"[-.:/]", stream_name)[-1].lower()


def _describe_source(stream_name: str, segment_type: str, fields: dict[str, str]) -> str:
    stream_object = _stream_object(stream_name)
    if stream_object in _SALESFORCE_OBJECTS:
        # Salesforce API names are CamelCase: "Email" on Contact and Lead, "Name" on Account.
        if fields.get("email") == "Email" or fields.get("companyName") == "Name":
            return f"Salesforce {_SALESFORCE_OBJECTS[stream_object]}"
    hubspot_shape = any(
        path.startswith("properties.") or _FLATTENED_PREFIX_RE.match(path)
        for path in fields.values()
    )
    if hubspot_shape and stream_object in ("contacts", "companies"):
        return f"HubSpot {stream_object}"
    if segment_type == "COMPANY":
        return "generic company columns"
    if "email" in fields:
        return "generic email column"
    return "generic Google advertising id column"


def detect_segment(stream_name: str, schema: dict) -> DetectedSegment | None:
    """Detect the segment type and field mapping of a stream from its JSON schema.

    A schema with an email-like or Google advertising id property is USER. Otherwise one with
    a company name, website, domain, email domain, organization URN or LinkedIn page property
    is COMPANY. Returns None when neither is found; DETECTION_HINT lists what was looked for.
    """
    scalars, arrays = _index_properties(schema)

    user_fields = _pick(USER_CANDIDATES, scalars, arrays)
    if "email" in user_fields or "googleAid" in user_fields:
        source = _describe_source(stream_name, "USER", user_fields)
        return DetectedSegment("USER", user_fields, source)

    company_fields = _pick(COMPANY_CANDIDATES, scalars, arrays)
    if "companyName" not in company_fields and "name" in scalars:
        company_like = any(word in _stream_object(stream_name) for word in _COMPANY_STREAM_WORDS)
        if company_like or any(name in company_fields for name in COMPANY_IDENTIFYING_FIELDS):
            company_fields = {"companyName": scalars["name"], **company_fields}
    if any(name in company_fields for name in COMPANY_IDENTIFYING_FIELDS):
        source = _describe_source(stream_name, "COMPANY", company_fields)
        return DetectedSegment("COMPANY", company_fields, source)
    return None


DETECTION_HINT = (
    "looked for an email property (email, email_address, work_email, Email, properties.email, "
    "hashed_email, ...) or a Google advertising id (gaid, google_aid) for a USER segment, and "
    "for company properties (name, company_name, website, domain, email_domain, "
    "linkedin_company_page, organization_urn) for a COMPANY segment"
)
