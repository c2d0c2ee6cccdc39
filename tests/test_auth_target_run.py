"""Token expiry paths in a real target run: a subprocess on Singer input, the sandbox as LinkedIn.

These tests need the target to call `start_run_token_checks` when it opens its connection, and
they are skipped until `target.py` does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_auth_support import assert_no_secrets, control, secrets_of

from target_linkedin_audiences.errors import EXIT_AUTH
from target_linkedin_audiences.token_store import TOKEN_STORE_FILENAME, TokenStore
from tests.target_helpers import run_target, sandbox_members, sandbox_requests, segment_by_name, singer_lines, target_config

TARGET_SOURCE = Path(__file__).resolve().parent.parent / "target_linkedin_audiences" / "target.py"
pytestmark = pytest.mark.skipif(
    "start_run_token_checks" not in TARGET_SOURCE.read_text(encoding="utf-8"),
    reason="target.py does not call start_run_token_checks yet",
)

DAY = 86400
EMAILS = [f"member{number}@example.com" for number in range(20)]
SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"}}}
STATE = {"bookmarks": {"contacts": {"sync": 1}}}
EXPIRED_BODY = {"status": 401, "serviceErrorCode": 65602, "code": "EXPIRED_ACCESS_TOKEN", "message": "expired"}
REVOKED_BODY = {"status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "revoked"}


def contacts_input() -> str:
    records = [{"id": str(number), "email": email} for number, email in enumerate(EMAILS)]
    return singer_lines("contacts", SCHEMA, records, key_properties=["id"], state=STATE)


def expected_hashes() -> set[str]:
    return {hashlib.sha256(email.encode()).hexdigest() for email in EMAILS}


def delivered_hashes(sandbox) -> set[str]:
    # A fresh token of the demo member reads the segments, whatever happened to the run's token.
    segment = segment_by_name(sandbox, sandbox.issue_token(), "contacts")
    return {member["userIds"][0]["idValue"] for member in sandbox_members(sandbox, segment["id"])}


def config_for(sandbox, token: dict, tmp_path: Path, **overrides) -> dict:
    return target_config(sandbox, token, tmp_path, heartbeat_interval_seconds=0, **overrides)


def stored_access_token(tmp_path: Path) -> str | None:
    loaded = TokenStore(tmp_path / TOKEN_STORE_FILENAME).load()
    return loaded.tokens.access_token if loaded else None


def segment_calls(sandbox) -> list[dict]:
    return [request for request in sandbox_requests(sandbox) if request["path"].startswith("/rest/dmpSegments")]


def test_run_with_token_expired_before_start(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.states[-1] == STATE
    assert delivered_hashes(sandbox) == expected_hashes()
    new_access_token = stored_access_token(tmp_path)
    assert new_access_token not in (None, token["access_token"])
    assert_no_secrets(run.stdout + run.stderr, [*secrets_of(token), new_access_token or ""])


def test_run_with_token_revoked_before_start(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/revoke", {"token": token["access_token"]})

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode == 0, run.stderr
    assert delivered_hashes(sandbox) == expected_hashes()
    assert stored_access_token(tmp_path) != token["access_token"]


def test_run_with_token_expiring_during_run(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "faults", {"method": "POST", "path": "/rest/dmpSegments/*/users", "status": 401, "count": 1,
                                "body": EXPIRED_BODY})

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.states[-1] == STATE
    assert delivered_hashes(sandbox) == expected_hashes()
    assert stored_access_token(tmp_path) != token["access_token"]


def test_run_retries_65601_after_refresh(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token(access_ttl=600)
    control(sandbox, "faults", {"method": "POST", "path": "/rest/dmpSegments/*/users", "status": 401, "count": 2,
                                "body": REVOKED_BODY})

    run = run_target(config_for(sandbox, token, tmp_path, token_refresh_window_seconds=3600), contacts_input(),
                     tmp_path)

    assert run.returncode == 0, run.stderr
    assert delivered_hashes(sandbox) == expected_hashes()


def test_run_stops_before_input_on_expired_refresh_token(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token(access_ttl=DAY, refresh_ttl=2 * DAY)
    sandbox.advance_clock(3 * DAY)

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode == EXIT_AUTH
    assert "linkedin-audiences auth login" in run.stderr
    assert run.stdout.strip() == ""
    assert segment_calls(sandbox) == []
    assert_no_secrets(run.stdout + run.stderr, secrets_of(token))


def test_run_stops_before_input_on_revoked_refresh_token(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode == EXIT_AUTH
    assert "linkedin-audiences auth login" in run.stderr
    assert run.stdout.strip() == ""
    assert segment_calls(sandbox) == []


def test_run_with_refresh_token_dying_mid_run(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})
    control(sandbox, "faults", {"method": "POST", "path": "/rest/dmpSegments/*/users", "status": 401, "count": 1,
                                "body": EXPIRED_BODY})

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode != 0
    assert "linkedin-audiences auth login" in run.stderr
    assert [json.loads(line) for line in run.stdout.splitlines() if line.strip()] == []


def test_run_warns_refresh_token_expiring_soon(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token(access_ttl=10 * DAY, refresh_ttl=20 * DAY)

    run = run_target(config_for(sandbox, token, tmp_path), contacts_input(), tmp_path)

    assert run.returncode == 0, run.stderr
    assert "refresh token expires at" in run.stderr
    assert "auth login" in run.stderr
