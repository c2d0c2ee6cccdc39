"""Deterministic matching: whether LinkedIn "finds" a member, predictable from its identifier.

A member's primary identifier is, for a USER element, its first `userIds[].idValue` (or
`"firstName lastName"` when it has no ids). For a COMPANY element it is every present field of
`organizationUrn`, `companyWebsiteDomain`, `companyEmailDomain`, `companyPageUrl`, `companyName`,
written `field=value` in that order and joined with `|`. So two companies that share a website
domain but differ in name stay two members, as they are two input rows for LinkedIn.
The identifier's digest is the identifier itself when it is 64 or 128 lowercase hex digits, else
the SHA-256 hex digest of its UTF-8 bytes, with no other normalisation. The member matches when
`int(digest[:8], 16) % 100 < match_percentage`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

HEX_DIGEST = re.compile(r"^(?:[0-9a-f]{64}|[0-9a-f]{128})$")
COMPANY_IDENTIFIER_FIELDS = (
    "organizationUrn",
    "companyWebsiteDomain",
    "companyEmailDomain",
    "companyPageUrl",
    "companyName",
)


def primary_identifier(segment_kind: str, element: dict[str, Any]) -> str:
    """Return the identifier that keys a member in its segment; the element must be valid."""
    if segment_kind == "USER":
        user_ids = element.get("userIds") or []
        if user_ids:
            return user_ids[0]["idValue"]
        return f"{element['firstName']} {element['lastName']}"

    present = [f"{name}={element[name]}" for name in COMPANY_IDENTIFIER_FIELDS if element.get(name)]
    if not present:
        raise ValueError("company element has no identifying field")
    return "|".join(present)


def digest(identifier: str) -> str:
    if HEX_DIGEST.match(identifier):
        return identifier
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()


def is_match(identifier: str, match_percentage: int) -> bool:
    return digest_matches(digest(identifier), match_percentage)


def digest_matches(identifier_digest: str, match_percentage: int) -> bool:
    """Return whether the member with this digest of its identifier matches."""
    return int(identifier_digest[:8], 16) % 100 < match_percentage
