"""Build the sample Singer streams and JSONL files from the two public sample CSVs.

Run `python sample_data/build.py` after changing a CSV. Outputs, all in this folder:
- contacts.jsonl, accounts.jsonl: one plain JSON record per line, for tap-jsonl under Meltano;
- contacts_deletes.jsonl, accounts_deletes.jsonl: a later sync that marks a few records deleted;
- contacts.singer.jsonl, accounts.singer.jsonl: SCHEMA, RECORD and STATE messages of both syncs,
  deletes last, for piping straight into the target.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Deterministic picks so tests can name the deleted records.
DELETED_CONTACT_ROWS = (3, 17, 42, 64, 99)
DELETED_ACCOUNT_ROWS = (5, 250, 777)

CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "Index": {"type": ["integer", "null"]},
        "Customer Id": {"type": "string"},
        "First Name": {"type": ["string", "null"]},
        "Last Name": {"type": ["string", "null"]},
        "Company": {"type": ["string", "null"]},
        "City": {"type": ["string", "null"]},
        "Country": {"type": ["string", "null"]},
        "Phone 1": {"type": ["string", "null"]},
        "Phone 2": {"type": ["string", "null"]},
        "Email": {"type": ["string", "null"]},
        "Subscription Date": {"type": ["string", "null"], "format": "date"},
        "Website": {"type": ["string", "null"]},
        "IsDeleted": {"type": ["boolean", "null"]},
    },
}
ACCOUNT_SCHEMA = {
    "type": "object",
    "properties": {
        "Index": {"type": ["integer", "null"]},
        "Organization": {"type": "string"},
        "Name": {"type": ["string", "null"]},
        "Website": {"type": ["string", "null"]},
        "Country": {"type": ["string", "null"]},
        "Description": {"type": ["string", "null"]},
        "Founded": {"type": ["integer", "null"]},
        "Industry": {"type": ["string", "null"]},
        "Employees": {"type": ["integer", "null"]},
        "IsDeleted": {"type": ["boolean", "null"]},
    },
}


def read_rows(name: str, integer_columns: tuple[str, ...]) -> list[dict]:
    with open(HERE / name, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for column in integer_columns:
            row[column] = int(row[column]) if row.get(column) else None
        row["IsDeleted"] = False
    return rows


def write_jsonl(name: str, records: list[dict]) -> None:
    with open(HERE / name, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_singer(name: str, stream: str, schema: dict, key: str, syncs: list[list[dict]]) -> None:
    messages = []
    for number, records in enumerate(syncs, start=1):
        messages.append({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": [key]})
        messages.extend({"type": "RECORD", "stream": stream, "record": record} for record in records)
        messages.append({"type": "STATE", "value": {"bookmarks": {stream: {"sync": number}}}})
    write_jsonl(name, messages)


def main() -> None:
    contacts = read_rows("customers-100.csv", ("Index",))
    accounts = read_rows("organizations-1000.csv", ("Index", "Founded", "Employees"))
    contact_deletes = [dict(contacts[row - 1], IsDeleted=True) for row in DELETED_CONTACT_ROWS]
    account_deletes = [dict(accounts[row - 1], IsDeleted=True) for row in DELETED_ACCOUNT_ROWS]

    write_jsonl("contacts.jsonl", contacts)
    write_jsonl("contacts_deletes.jsonl", contact_deletes)
    write_jsonl("accounts.jsonl", accounts)
    write_jsonl("accounts_deletes.jsonl", account_deletes)
    write_singer("contacts.singer.jsonl", "contacts", CONTACT_SCHEMA, "Customer Id", [contacts, contact_deletes])
    write_singer("accounts.singer.jsonl", "accounts", ACCOUNT_SCHEMA, "Organization", [accounts, account_deletes])


if __name__ == "__main__":
    main()
