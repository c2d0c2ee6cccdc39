"""The floor of bench/run.py: the least work any target must do for these records.

A plain loop parses each line with the standard library's json, lowercases and SHA-256-hashes
the email, builds the member elements and serialises one request body per 5,000 of them, per
action. It skips validation, mapping rules, HTTP and bookkeeping.

Usage: python bench/floor.py < input.singer.jsonl
"""

from __future__ import annotations

import hashlib
import json
import sys

BATCH_SIZE = 5000


def main() -> None:
    batches: dict[str, list[dict]] = {"ADD": [], "REMOVE": []}
    bodies = 0
    body_bytes = 0
    for line in sys.stdin.buffer:
        message = json.loads(line)
        if message.get("type") != "RECORD":
            continue
        record = message["record"]
        email = record.get("Email")
        if not email:
            continue
        action = "REMOVE" if record.get("IsDeleted") else "ADD"
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        batch = batches[action]
        batch.append({
            "action": action,
            "userIds": [{"idType": "SHA256_EMAIL", "idValue": digest}],
            "firstName": record.get("FirstName"),
            "lastName": record.get("LastName"),
            "title": record.get("Title"),
            "company": record.get("CompanyName"),
        })
        if len(batch) == BATCH_SIZE:
            body_bytes += len(json.dumps({"elements": batch}).encode())
            bodies += 1
            batches[action] = []
    for batch in batches.values():
        if batch:
            body_bytes += len(json.dumps({"elements": batch}).encode())
            bodies += 1
    print(f"floor: {bodies} bodies, {body_bytes} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
