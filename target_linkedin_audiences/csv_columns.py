"""Find the member columns of a CSV file and write members in LinkedIn's list-upload template.

Headers are compared the way `detection` compares Singer properties: lowercased, with
everything but letters and digits removed, so `E-mail Address`, `email_address` and
`EmailAddress` are one name. Each LinkedIn field tries its template header first, then the
variants that `detection` matches in CRM exports and Singer schemas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from target_linkedin_audiences.detection import (
    COMPANY_CANDIDATES,
    USER_CANDIDATES,
    normalize_property_name,
)
from target_linkedin_audiences.members import GOOGLE_AID, SHA256_EMAIL

# LinkedIn's list-upload template headers, in template order, with the member field each one
# carries. Company headers follow Campaign Manager's company-list template.
# NOTE: LinkedIn has not published the contact-list header strings. These follow its
# conversions template (email, firstname, lastname, employeecompany, title, country), and
# `googleaid` is a guess that the sandbox accepts.
USER_TEMPLATE: tuple[tuple[str, str], ...] = (
    ("email", "email"),
    ("firstname", "firstName"),
    ("lastname", "lastName"),
    ("title", "title"),
    ("employeecompany", "company"),
    ("country", "country"),
    ("googleaid", "googleAid"),
)
COMPANY_TEMPLATE: tuple[tuple[str, str], ...] = (
    ("companyname", "companyName"),
    ("companywebsite", "companyWebsiteDomain"),
    ("companyemaildomain", "companyEmailDomain"),
    ("linkedincompanypageurl", "companyPageUrl"),
    ("stocksymbol", "stockSymbol"),
    ("industry", "industries"),
    ("city", "city"),
    ("state", "state"),
    ("companycountry", "country"),
    ("zipcode", "postalCode"),
)
TEMPLATES = {"USER": USER_TEMPLATE, "COMPANY": COMPANY_TEMPLATE}

# Variants a CSV export uses that Singer schemas do not: digests under a SHA-512 name, and a
# bare `Name` column, which in a company list is the company's name.
_EXTRA_CANDIDATES = {
    "USER": {"email": ("sha512email", "emailsha512")},
    "COMPANY": {"companyName": ("name",)},
}


def _candidates(kind: str) -> dict[str, tuple[str, ...]]:
    """Return normalised header names per member field for a USER or COMPANY list."""
    known = USER_CANDIDATES if kind == "USER" else COMPANY_CANDIDATES
    extra = _EXTRA_CANDIDATES[kind]
    candidates = {}
    for header, field in TEMPLATES[kind]:
        names = (header, *known.get(field, ()), *extra.get(field, ()))
        candidates[field] = tuple(dict.fromkeys(names))
    return candidates


CSV_CANDIDATES = {kind: _candidates(kind) for kind in TEMPLATES}


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnMap:
    """Mapping of the member fields of a USER or COMPANY list to CSV columns.

    `fields` maps a member field (`email`, `companyName`, ...) to its column's index, and
    `headers` is the file's header row with surrounding spaces removed.
    """

    kind: str
    headers: tuple[str, ...]
    fields: dict[str, int]

    @property
    def template_headers(self) -> list[str]:
        """Return the template headers of the mapped fields, in template order."""
        return [header for header, field in TEMPLATES[self.kind] if field in self.fields]

    @property
    def ignored_headers(self) -> list[str]:
        used = set(self.fields.values())
        return [header for index, header in enumerate(self.headers) if index not in used and header]

    def header_of(self, field: str) -> str:
        return self.headers[self.fields[field]]

    def describe(self) -> list[tuple[str, str]]:
        """Return `(template header, CSV header)` pairs, in template order."""
        return [
            (header, self.header_of(field)) for header, field in TEMPLATES[self.kind] if field in self.fields
        ]


def find_columns(headers: Sequence[str], kind: str) -> ColumnMap:
    """Map member fields of a USER or COMPANY list to the columns of a CSV header row.

    A field takes the column of its most preferred candidate name. Each column feeds one
    field at most, and the first of two equal headers wins.
    """
    stripped = tuple(header.strip() for header in headers)
    positions: dict[str, int] = {}
    for index, header in enumerate(stripped):
        positions.setdefault(normalize_property_name(header), index)

    fields: dict[str, int] = {}
    used: set[int] = set()
    for field, names in CSV_CANDIDATES[kind].items():
        for name in names:
            index = positions.get(name)
            if index is not None and index not in used:
                fields[field] = index
                used.add(index)
                break
    return ColumnMap(kind, stripped, fields)


def template_row(kind: str, headers: Sequence[str], element: dict) -> list[str]:
    """Return a mapped member element as the values of a template row under `headers`."""
    values = dict(element)
    if kind == "USER":
        for user_id in element.get("userIds", ()):
            if user_id["idType"] == SHA256_EMAIL:
                values["email"] = user_id["idValue"]
            elif user_id["idType"] == GOOGLE_AID:
                values["googleAid"] = user_id["idValue"]
    elif "industries" in values:
        # NOTE: the template has one industry column, so only the first industry is written.
        values["industries"] = values["industries"][0]

    field_of = dict(TEMPLATES[kind])
    return [str(values.get(field_of[header], "")) for header in headers]


def looked_for(kind: str) -> str:
    """Return the header names tried for the identifying fields of a list, for error messages."""
    if kind == "USER":
        fields = ("email", "googleAid")
    else:
        fields = ("companyName", "companyWebsiteDomain", "companyEmailDomain", "companyPageUrl")
    names = [name for field in fields for name in CSV_CANDIDATES[kind][field]]
    return ", ".join(names)
