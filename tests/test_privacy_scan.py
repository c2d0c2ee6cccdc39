"""Scan every output of real runs for the sample data's plaintext emails, names and tokens.

The runs log at DEBUG, include malformed lines and invalid values that carry emails, and go
through a token refresh, so both the old and the new tokens exist to be leaked.
"""

from __future__ import annotations

import json
import os

import requests

from tests.target_helpers import (
    SAMPLE_DATA,
    run_target,
    sample_customers,
    singer_lines,
    target_config,
)


def bad_input(customers: list[dict]) -> str:
    """Malformed lines and invalid values that contain real sample emails."""
    schema = {"type": "object", "properties": {"Email": {"type": ["string", "null"]}, "Score": {"type": "integer"}}}
    first, second, third = (row["Email"] for row in customers[:3])
    records = [
        {"Email": f"{first} extra words", "Score": 1},
        {"Email": f"<{second}>", "Score": 2},
        {"Email": third, "Score": "not an integer"},
        {"Email": "a" * 64 + "@" + first, "Score": 3},
    ]
    lines = singer_lines("bad_contacts", schema, records).splitlines()
    lines.insert(2, json.dumps({"type": "RECORD", "stream": "bad_contacts", "record": {"Email": first}})[:-5])
    lines.insert(3, f"not json at all {second}")
    return "\n".join(lines) + "\n"


def collect_outputs(run, tmp_path) -> dict[str, str]:
    outputs = {"stdout": run.stdout, "stderr": run.stderr}
    for path in tmp_path.iterdir():
        if path.is_file() and path.suffix in {".jsonl", ".log"}:
            outputs[path.name] = path.read_text(errors="replace")
    return outputs


def assert_clean(outputs: dict[str, str], secrets: list[str]) -> None:
    for name, text in outputs.items():
        lowered = text.lower()
        for secret in secrets:
            assert secret.lower() not in lowered, f"{name} contains a plaintext value"


def test_no_plaintext_in_any_output(sandbox, sandbox_token, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    customers = sample_customers()
    # The access token expires right away, so the first call refreshes it.
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", json={"token": sandbox_token["access_token"]}, timeout=10)

    config = target_config(sandbox, sandbox_token, tmp_path, delete_field="IsDeleted")
    input_text = (SAMPLE_DATA / "contacts.singer.jsonl").read_text()
    input_text += (SAMPLE_DATA / "accounts.singer.jsonl").read_text()
    input_text += bad_input(customers)
    run = run_target(config, input_text, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Refreshed the LinkedIn access token" in run.stderr

    dry_config = dict(config, dry_run=True, dry_run_path=str(tmp_path / "dry-run.jsonl"))
    dry_run = run_target(dry_config, input_text, tmp_path)
    assert dry_run.returncode == 0, dry_run.stderr[-3000:]

    request_log = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).text
    tokens_now = requests.post(
        f"{sandbox.url}/oauth/v2/introspectToken",
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret, "token": sandbox_token["refresh_token"]},
        timeout=10,
    )
    assert tokens_now.status_code == 200

    secrets = [row["Email"] for row in customers]
    secrets += [f"{row['First Name']} {row['Last Name']}" for row in customers]
    secrets += [sandbox_token["access_token"], sandbox_token["refresh_token"], sandbox.client_secret]
    outputs = collect_outputs(run, tmp_path)
    outputs["dry-run stderr"] = dry_run.stderr
    outputs["dry-run stdout"] = dry_run.stdout
    outputs["sandbox request log"] = request_log
    assert "rejects.jsonl" in outputs
    assert "dry-run.jsonl" in outputs
    assert_clean(outputs, secrets)


def test_no_plaintext_in_dry_run_file_names(sandbox, sandbox_token, tmp_path):
    customers = sample_customers()[:5]
    schema = {"type": "object", "properties": {"Email": {"type": "string"}, "First": {"type": "string"}, "Last": {"type": "string"}}}
    records = [{"Email": row["Email"], "First": row["First Name"], "Last": row["Last Name"]} for row in customers]
    config = target_config(sandbox, sandbox_token, tmp_path, dry_run=True)
    config["segments"] = {"people": {"type": "USER", "fields": {"email": "Email", "firstName": "First", "lastName": "Last"}}}
    run = run_target(config, singer_lines("people", schema, records), tmp_path)
    assert run.returncode == 0, run.stderr

    text = run.dry_run_path.read_text()
    for row in customers:
        assert row["Email"].lower() not in text.lower()
        assert row["Last Name"] not in text
    assert os.stat(run.dry_run_path).st_mode & 0o777 == 0o600
