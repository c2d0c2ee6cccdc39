"""Write N Salesforce-like Contact records as Singer messages, deterministically.

The schema follows Salesforce's Contact object as tap-salesforce emits it: ids, names, title,
email, mailing address, two `date-time` columns and `IsDeleted`. One record in twenty is a
delete, which the target sends as a REMOVE. Values repeat as in a CRM export, more than in most:
10 first names, 10 last names, 6 titles, 5,000 companies and one email domain. With `distinct`,
each record has its own, which is the worst case for the target's memoised normalisers.

Usage: python bench/generate.py N OUTPUT
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

STREAM = "Contact"
DELETE_EVERY = 20
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth")
TITLES = ("VP Marketing", "Data Engineer", "Head of Growth", "CFO", "Product Manager", "Sales Director")
COUNTRIES = ("US", "United Kingdom", "DE", "France", "Canada", "NL", "Spain", "IN")
NULLABLE_STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": ["string", "null"], "format": "date-time"}

CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "Id": {"type": "string"},
        "AccountId": NULLABLE_STRING,
        "Salutation": NULLABLE_STRING,
        "FirstName": NULLABLE_STRING,
        "LastName": {"type": "string"},
        "Title": NULLABLE_STRING,
        "Email": NULLABLE_STRING,
        "Phone": NULLABLE_STRING,
        "MailingCity": NULLABLE_STRING,
        "MailingState": NULLABLE_STRING,
        "MailingPostalCode": NULLABLE_STRING,
        "MailingCountry": NULLABLE_STRING,
        "CompanyName": NULLABLE_STRING,
        "LeadSource": NULLABLE_STRING,
        "HasOptedOutOfEmail": {"type": ["boolean", "null"]},
        "NumberOfEmployees": {"type": ["integer", "null"]},
        "CreatedDate": DATE_TIME,
        "SystemModstamp": DATE_TIME,
        "IsDeleted": {"type": ["boolean", "null"]},
    },
    "required": ["Id", "LastName"],
}

# The target's stream config for this schema; the other two benchmarks use the same columns.
SEGMENT_CONFIG = {
    STREAM: {
        "type": "USER",
        "segment_name": "Benchmark contacts",
        "fields": {
            "email": "Email",
            "firstName": "FirstName",
            "lastName": "LastName",
            "title": "Title",
            "company": "CompanyName",
            "country": "MailingCountry",
        },
    }
}


def contact(number: int, rng: random.Random, distinct: bool = False) -> dict:
    """Return one Contact record. With `distinct`, its names, title, company and email domain are its own."""
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    title = rng.choice(TITLES)
    company = f"Company {number % 5000}"
    domain = "Example.com"
    if distinct:
        first, last = f"{first}{number}", f"{last}{number}"
        title, company, domain = f"{title} {number}", f"Company {number}", f"company{number}.example"
    second = 1 + number % 60
    return {
        "Id": f"003{number:015d}",
        "AccountId": f"001{number // 7:015d}",
        "Salutation": None,
        "FirstName": first,
        "LastName": last,
        "Title": title,
        "Email": f"  {first}.{last}.{number}@{domain} ",
        "Phone": f"+1 555 {number % 10_000:04d}",
        "MailingCity": "Springfield",
        "MailingState": "IL",
        "MailingPostalCode": f"{62700 + number % 100}",
        "MailingCountry": rng.choice(COUNTRIES),
        "CompanyName": company,
        "LeadSource": "Web",
        "HasOptedOutOfEmail": False,
        "NumberOfEmployees": number % 10_000,
        "CreatedDate": f"2024-03-{1 + number % 28:02d}T10:{number % 60:02d}:{second % 60:02d}.000000Z",
        "SystemModstamp": f"2025-11-{1 + number % 28:02d}T08:15:{second % 60:02d}.000000Z",
        "IsDeleted": number % DELETE_EVERY == 0,
    }


def write_messages(count: int, path: Path, seed: int = 8, distinct: bool = False) -> None:
    """Write SCHEMA, `count` RECORD messages and one STATE to `path`."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        schema = {"type": "SCHEMA", "stream": STREAM, "schema": CONTACT_SCHEMA, "key_properties": ["Id"]}
        handle.write(json.dumps(schema) + "\n")
        for number in range(1, count + 1):
            handle.write(json.dumps({"type": "RECORD", "stream": STREAM, "record": contact(number, rng, distinct)}) + "\n")
        state = {"type": "STATE", "value": {"bookmarks": {STREAM: {"SystemModstamp": "2025-11-28T08:15:00Z"}}}}
        handle.write(json.dumps(state) + "\n")


if __name__ == "__main__":
    write_messages(int(sys.argv[1]), Path(sys.argv[2]))
