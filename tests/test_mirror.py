"""Mirror sync against the sandbox: absent members leave, and failed or cut runs remove no member."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import requests

from tests.target_helpers import (
    add_fault,
    run_target,
    sandbox_members,
    sandbox_requests,
    segment_by_name,
    sha256_email,
    singer_lines,
    start_target,
    target_config,
)

SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "email": {"type": "string"}, "first": {"type": "string"}},
}
FIELDS = {"email": "email", "firstName": "first"}


def finder_count(sandbox) -> int:
    return sum(1 for r in sandbox_requests(sandbox) if r["method"] == "GET" and r["path"] == "/rest/dmpSegments")


def wait_until_sending(sandbox, finders_before: int, timeout: float = 30) -> None:
    """Wait until a new run has looked up its segment and its first batch is in flight."""
    deadline = time.monotonic() + timeout
    while finder_count(sandbox) <= finders_before:
        if time.monotonic() > deadline:
            raise AssertionError("the run never looked up its segment")
        time.sleep(0.1)
    time.sleep(1.0)


def contacts(count: int, start: int = 0) -> list[dict]:
    return [{"id": str(i), "email": f"member{i}@example.com", "first": f"Firstname{i}"} for i in range(start, start + count)]


def mirror_config(sandbox, token, tmp_path, **overrides) -> dict:
    config = target_config(sandbox, token, tmp_path, sync_mode="mirror", **overrides)
    config["segments"] = {"contacts": {"type": "USER", "fields": FIELDS}}
    return config


def held_hashes(sandbox, token) -> set[str]:
    segment = segment_by_name(sandbox, token, "contacts")
    return {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, segment["id"])}


def expected(records: list[dict]) -> set[str]:
    return {sha256_email(r["email"]) for r in records}


def removal_requests(sandbox) -> list[dict]:
    return [
        element
        for request in sandbox_requests(sandbox)
        if request["path"].endswith("/users")
        for element in request["body"]["elements"]
        if element["action"] == "REMOVE"
    ]


def test_second_run_removes_exactly_the_absent(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    first = contacts(20)
    assert run_target(config, singer_lines("contacts", SCHEMA, first, state={"run": 1}), tmp_path).returncode == 0

    second = first[:17] + contacts(2, start=100)
    run = run_target(config, singer_lines("contacts", SCHEMA, second, state={"run": 2}), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"run": 2}]
    assert held_hashes(sandbox, sandbox_token) == expected(second)
    assert {e["userIds"][0]["idValue"] for e in removal_requests(sandbox)} == expected(first[17:])


def test_upsert_never_removes_absent(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path)
    config["segments"] = {"contacts": {"type": "USER", "fields": FIELDS}}
    first = contacts(10)
    assert run_target(config, singer_lines("contacts", SCHEMA, first), tmp_path).returncode == 0
    assert run_target(config, singer_lines("contacts", SCHEMA, first[:3]), tmp_path).returncode == 0
    assert held_hashes(sandbox, sandbox_token) == expected(first)
    assert removal_requests(sandbox) == []


def test_failed_run_removes_nobody(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=2, max_retry_seconds=5)
    first = contacts(10)
    assert run_target(config, singer_lines("contacts", SCHEMA, first), tmp_path).returncode == 0

    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=503, count=10)
    failed = run_target(config, singer_lines("contacts", SCHEMA, first[:5], state={"run": 2}), tmp_path)
    assert failed.returncode != 0
    assert failed.states == []
    assert held_hashes(sandbox, sandbox_token) == expected(first)
    assert removal_requests(sandbox) == []


def test_cut_run_removes_nobody(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    first = contacts(10)
    assert run_target(config, singer_lines("contacts", SCHEMA, first), tmp_path).returncode == 0

    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=200, count=1, delay_seconds=10,
              body={"elements": [{"status": 201}] * 9})
    finders_before = finder_count(sandbox)
    process = start_target(config, singer_lines("contacts", SCHEMA, first[:9], state={"run": 2}), tmp_path)
    wait_until_sending(sandbox, finders_before)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert stdout.strip() == b""
    assert held_hashes(sandbox, sandbox_token) == expected(first)
    assert removal_requests(sandbox) == []


def test_guard_trips_and_sends_nothing(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    first = contacts(10)
    assert run_target(config, singer_lines("contacts", SCHEMA, first), tmp_path).returncode == 0

    run = run_target(config, singer_lines("contacts", SCHEMA, first[:7], state={"run": 2}), tmp_path)
    assert run.returncode == 6
    assert run.states == []
    assert "would remove 3 of 10 members (30%)" in run.stderr
    assert "max_removal_fraction set to at least 0.30" in run.stderr
    assert removal_requests(sandbox) == []
    assert held_hashes(sandbox, sandbox_token) == expected(first)

    allowed = run_target(dict(config, max_removal_fraction=0.3), singer_lines("contacts", SCHEMA, first[:7]), tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert held_hashes(sandbox, sandbox_token) == expected(first[:7])


def test_empty_stream_trips_guard(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    assert run_target(config, singer_lines("contacts", SCHEMA, contacts(5)), tmp_path).returncode == 0
    run = run_target(config, singer_lines("contacts", SCHEMA, []), tmp_path)
    assert run.returncode == 6
    assert held_hashes(sandbox, sandbox_token) == expected(contacts(5))


def test_replay_after_crash_same_membership(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path, batch_size_rows=5)
    first = contacts(20)
    assert run_target(config, singer_lines("contacts", SCHEMA, first), tmp_path).returncode == 0

    second = first[:18] + contacts(7, start=50)
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=200, count=1, delay_seconds=10,
              body={"elements": [{"status": 201}] * 5})
    finders_before = finder_count(sandbox)
    process = start_target(config, singer_lines("contacts", SCHEMA, second, state={"run": 2}), tmp_path)
    wait_until_sending(sandbox, finders_before)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)

    replay = run_target(config, singer_lines("contacts", SCHEMA, second, state={"run": 2}), tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert replay.states == [{"run": 2}]
    assert held_hashes(sandbox, sandbox_token) == expected(second)


def test_ledger_has_no_names_and_is_private(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    assert run_target(config, singer_lines("contacts", SCHEMA, contacts(5)), tmp_path).returncode == 0
    ledger_path = tmp_path / "ledger.db"
    assert os.stat(ledger_path).st_mode & 0o777 == 0o600

    with sqlite3.connect(ledger_path) as connection:
        rows = connection.execute("SELECT member_key, element FROM members").fetchall()
    assert len(rows) == 5
    dump = " ".join(f"{key} {element}" for key, element in rows)
    assert "Firstname" not in dump
    assert "@example.com" not in dump
    # Each of these people has one id, the email digest, which is the key; the element is empty.
    assert dict(rows)[sha256_email("member0@example.com")] == ""


def ledger_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "from target_linkedin_audiences.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_ledger_show_and_verify(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    assert run_target(config, singer_lines("contacts", SCHEMA, contacts(12)), tmp_path).returncode == 0
    config_path = tmp_path / "cli-config.json"
    config_path.write_text(json.dumps(config))

    shown = ledger_cli("ledger", "show", "--config", str(config_path), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    segments = json.loads(shown.stdout)["ledger"]
    assert [(s["segment_name"], s["members"]) for s in segments] == [("contacts", 12)]
    assert segments[0]["last_complete_run"] is not None

    verified = ledger_cli("ledger", "verify", "--config", str(config_path), "--format", "json")
    assert verified.returncode == 0, verified.stderr
    row = json.loads(verified.stdout)["segments"][0]
    assert row["ledger_members"] == 12
    assert row["finding"] == "consistent"

    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    requests.delete(
        f"{sandbox.url}/rest/dmpSegments/{segment['id']}",
        headers={"Authorization": f"Bearer {sandbox_token['access_token']}", "LinkedIn-Version": "202608",
                 "X-Restli-Protocol-Version": "2.0.0", "X-RestLi-Method": "DELETE"},
        timeout=10,
    ).raise_for_status()
    missing = ledger_cli("ledger", "verify", "--config", str(config_path), "--format", "json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["segments"][0]["finding"].startswith("missing on LinkedIn")

    # The next run creates a new segment for the key; the ledger drops the deleted one's rows.
    assert run_target(config, singer_lines("contacts", SCHEMA, contacts(4)), tmp_path).returncode == 0
    recovered = ledger_cli("ledger", "verify", "--config", str(config_path), "--format", "json")
    assert recovered.returncode == 0, recovered.stdout
    rows = json.loads(recovered.stdout)["segments"]
    assert [(row["ledger_members"], row["finding"]) for row in rows] == [(4, "consistent")]


def test_guard_advice_rounds_up(sandbox, sandbox_token, tmp_path):
    config = mirror_config(sandbox, sandbox_token, tmp_path)
    first = contacts(17)
    assert run_target(config, singer_lines("contacts", SCHEMA, first), tmp_path).returncode == 0

    tripped = run_target(config, singer_lines("contacts", SCHEMA, first[:10]), tmp_path)
    assert tripped.returncode == 6
    assert "set to at least 0.42" in tripped.stderr

    allowed = run_target(dict(config, max_removal_fraction=0.42), singer_lines("contacts", SCHEMA, first[:10]), tmp_path)
    assert allowed.returncode == 0, allowed.stderr
