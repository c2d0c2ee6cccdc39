"""Token heartbeat: one check, the background thread of a run, and the CLI loop."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests
from test_auth_support import assert_no_secrets, control, secrets_of, token_manager

from target_linkedin_audiences.errors import EXIT_API, EXIT_AUTH
from target_linkedin_audiences.heartbeat import TokenDeadError, TokenHeartbeat, check_token, run_heartbeat_loop


def check(sandbox, manager, **kwargs):
    return check_token(manager, requests.Session(), sandbox.url, **kwargs)


def test_check_valid_token(sandbox) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token())

    result = check(sandbox, manager)

    assert result.valid
    assert not result.dead
    assert result.access_status == "active"
    assert result.me_status == "ok"
    assert result.member_id is not None and result.member_id.startswith("urn:li:person:")
    assert result.scopes is not None and "rw_dmp_segments" in result.scopes
    assert result.exit_code == 0
    assert oauth.refresh_count == 0


def test_check_refreshes_expired_token(sandbox) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    manager, oauth = token_manager(sandbox, token)

    result = check(sandbox, manager)

    assert result.valid
    assert result.refreshed
    assert oauth.refresh_count == 1


def test_check_refreshes_inside_window(sandbox) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token(access_ttl=100))

    result = check(sandbox, manager, refresh_window_seconds=3600)

    assert result.valid
    assert result.refreshed
    assert oauth.refresh_count == 1


def test_check_without_refresh_reports_expiry(sandbox) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    manager, oauth = token_manager(sandbox, token)

    result = check(sandbox, manager, refresh=False)

    assert not result.valid
    assert not result.dead
    assert result.access_status == "expired"
    assert "auth refresh" in (result.problem or "")
    assert result.exit_code == EXIT_AUTH
    assert oauth.refresh_count == 0


def test_check_dead_when_refresh_token_revoked(sandbox) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})
    manager, _ = token_manager(sandbox, token)

    result = check(sandbox, manager)

    assert result.dead
    assert not result.valid
    assert "auth login" in (result.problem or "")
    assert result.exit_code == EXIT_AUTH


def test_check_dead_when_clock_passes_refresh_expiry(sandbox) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token(access_ttl=3600, refresh_ttl=7200))
    sandbox.advance_clock(8000)

    result = check(sandbox, manager)

    assert result.dead
    assert result.access_status == "expired"


def test_check_reports_missing_dmp_scope(sandbox) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token(scope="r_ads r_basicprofile"))

    result = check(sandbox, manager)

    assert not result.valid
    assert "rw_dmp_segments" in (result.problem or "")


def test_check_tolerates_missing_profile_scope(sandbox) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token(scope="r_ads rw_dmp_segments"))

    result = check(sandbox, manager)

    assert result.valid
    assert result.me_status.startswith("forbidden")


def test_check_server_error_is_not_dead(sandbox) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token())
    control(sandbox, "faults", {"method": "GET", "path": "/v2/me", "status": 500, "count": 1})

    result = check(sandbox, manager)

    assert not result.valid
    assert not result.dead
    assert result.exit_code == EXIT_API


def test_summary_holds_no_token(sandbox) -> None:
    token = sandbox.issue_token()
    manager, _ = token_manager(sandbox, token)

    summary = check(sandbox, manager).summary()

    assert summary.startswith("valid access_token=active")
    assert "refresh_days_left=" in summary
    assert_no_secrets(summary, secrets_of(token))


def test_background_heartbeat_detects_dead_token(sandbox, caplog: pytest.LogCaptureFixture) -> None:
    token = sandbox.issue_token()
    manager, _ = token_manager(sandbox, token)
    deaths: list[TokenDeadError] = []
    died = threading.Event()

    def on_dead(error: TokenDeadError) -> None:
        deaths.append(error)
        died.set()

    heartbeat = TokenHeartbeat(manager, requests.Session(), sandbox.url, interval_seconds=0.2, on_dead=on_dead)
    with caplog.at_level(logging.INFO, logger="target_linkedin_audiences"):
        heartbeat.start()
        try:
            time.sleep(0.5)
            heartbeat.raise_if_dead()
            control(sandbox, "tokens/expire", {"token": token["access_token"]})
            control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})
            assert died.wait(10)
        finally:
            heartbeat.stop()

    assert len(deaths) == 1
    with pytest.raises(TokenDeadError, match="auth login"):
        heartbeat.raise_if_dead()
    assert heartbeat.checks >= 2
    assert "Token heartbeat: valid" in caplog.text
    assert_no_secrets(caplog.text, secrets_of(token))


def test_background_heartbeat_refreshes_ahead_of_expiry(sandbox) -> None:
    token = sandbox.issue_token(access_ttl=120)
    manager, oauth = token_manager(sandbox, token)
    heartbeat = TokenHeartbeat(manager, requests.Session(), sandbox.url, interval_seconds=60, refresh_window_seconds=600)

    result = heartbeat.check_now()

    assert result.valid
    assert result.refreshed
    assert oauth.refresh_count == 1
    heartbeat.raise_if_dead()


def test_heartbeat_rejects_zero_interval(sandbox) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token())

    with pytest.raises(ValueError, match="interval"):
        TokenHeartbeat(manager, requests.Session(), sandbox.url, interval_seconds=0)


def test_loop_emits_one_line_per_check(sandbox) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token())
    lines: list[str] = []
    sleeps: list[float] = []

    last = run_heartbeat_loop(
        lambda: check(sandbox, manager),
        interval_seconds=5,
        max_checks=3,
        emit=lines.append,
        sleep=sleeps.append,
    )

    assert last.valid
    assert len(lines) == 3
    assert "heartbeat 3: valid" in lines[2]
    assert sleeps == [5, 5]


def test_loop_stops_when_token_dies(sandbox) -> None:
    token = sandbox.issue_token()
    manager, _ = token_manager(sandbox, token)
    lines: list[str] = []

    def kill_after_first_sleep(_seconds: float) -> None:
        control(sandbox, "tokens/expire", {"token": manager.access_token})
        control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    last = run_heartbeat_loop(
        lambda: check(sandbox, manager),
        interval_seconds=1,
        max_checks=10,
        emit=lines.append,
        sleep=kill_after_first_sleep,
    )

    assert last.dead
    assert len(lines) == 2
    assert "heartbeat 2: dead" in lines[1]
