"""Token faults during a run: expiry, revocation, a 65601 right after a refresh, a rejected refresh.

The target refreshes once on 65600, 65601 or 65602, retries a 65601 that follows a refresh
within 60 s three times 2 s apart, and otherwise stops with exit code 3 and a message that names
the next step. In every case no STATE covers an undelivered record, and a rerun reaches the
input's members.
"""

from __future__ import annotations

import signal

from target_linkedin_audiences.errors import EXIT_AUTH
from tests.fault_helpers import (
    USERS_PATH,
    add_fault,
    api_error_body,
    collect_and_check,
    contact_input,
    digests,
    emails_for,
    expire_token,
    fault_config,
    member_requests,
    parse_states,
    revoke_token,
    run_checked,
    segment_digests,
    start_target,
    stop_process,
    wait_for,
)
from tests.target_helpers import sandbox_requests

SIXTY_ONE_DAYS = 61 * 24 * 3600
EXPIRED_BODY = api_error_body(401, 65602, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired")
REVOKED_BODY = api_error_body(401, 65601, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user")


def segment_created(sandbox) -> bool:
    return any(r["method"] == "POST" and r["path"] == "/rest/dmpSegments" for r in sandbox_requests(sandbox))


def finder_requests(sandbox) -> list[dict]:
    return [r for r in sandbox_requests(sandbox) if r["method"] == "GET" and r["path"] == "/rest/dmpSegments"]


def run_with_token_change(sandbox, config, input_text, tmp_path, emails, change) -> tuple[int, str, str]:
    """Run the target, apply `change()` once its segment exists and its first batch is in flight."""
    # The first member batch is held 2 s by the sandbox, then checked and handled normally.
    add_fault(sandbox, method="POST", path=USERS_PATH, delay_seconds=2, count=1)
    process = start_target(config, input_text, tmp_path)
    wait_for(lambda: segment_created(sandbox), "the target to create its segment")
    change()
    process.wait(timeout=60)
    stdout, stderr = stop_process(process, signal.SIGKILL)
    collect_and_check(sandbox, config, tmp_path, stdout, stderr, emails)
    return process.returncode, stdout, stderr


def test_expiry_mid_run_refreshes_once(sandbox, sandbox_token, tmp_path):
    emails = emails_for("expiry", 4)
    config = fault_config(sandbox, sandbox_token, tmp_path, batch_size_rows=2, request_timeout_seconds=5)

    returncode, stdout, stderr = run_with_token_change(
        sandbox, config, contact_input(emails, state={"b": 1}), tmp_path, emails,
        lambda: sandbox.advance_clock(SIXTY_ONE_DAYS),
    )

    assert returncode == 0, stderr
    assert parse_states(stdout) == [{"b": 1}]
    # The test's own token expired with the clock too, so the check reads with a new one.
    assert segment_digests(sandbox, sandbox.issue_token()) == digests(emails)
    assert [post["status"] for post in member_requests(sandbox)] == [401, 200, 200]
    assert stderr.count("Refreshed the LinkedIn access token") == 1


def test_revoked_mid_run_refreshes_once(sandbox, sandbox_token, tmp_path):
    emails = emails_for("revoked", 4)
    config = fault_config(sandbox, sandbox_token, tmp_path, batch_size_rows=2, request_timeout_seconds=5)

    returncode, stdout, stderr = run_with_token_change(
        sandbox, config, contact_input(emails, state={"b": 2}), tmp_path, emails,
        lambda: revoke_token(sandbox, sandbox_token["access_token"]),
    )

    # Only the access token is revoked, so one refresh gets a working one.
    assert returncode == 0, stderr
    assert parse_states(stdout) == [{"b": 2}]
    assert [post["status"] for post in member_requests(sandbox)] == [401, 200, 200]
    assert stderr.count("Refreshed the LinkedIn access token") == 1
    assert segment_digests(sandbox, sandbox.issue_token()) == digests(emails)


def test_both_tokens_revoked_mid_run_fails(sandbox, sandbox_token, tmp_path):
    emails = emails_for("bothrevoked", 4)
    config = fault_config(sandbox, sandbox_token, tmp_path, batch_size_rows=2, request_timeout_seconds=5)

    def revoke_both() -> None:
        revoke_token(sandbox, sandbox_token["access_token"])
        revoke_token(sandbox, sandbox_token["refresh_token"])

    returncode, stdout, stderr = run_with_token_change(
        sandbox, config, contact_input(emails, state={"b": 2}), tmp_path, emails, revoke_both
    )

    assert returncode == EXIT_AUTH, stderr
    assert parse_states(stdout) == []
    assert "linkedin-audiences auth login" in stderr
    assert [post["status"] for post in member_requests(sandbox)] == [401]

    fresh = sandbox.issue_token()
    rerun_config = fault_config(sandbox, fresh, tmp_path, batch_size_rows=2)
    rerun = run_checked(sandbox, rerun_config, contact_input(emails, state={"b": 2}), tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"b": 2}]
    assert segment_digests(sandbox, fresh) == digests(emails)


def test_revoked_after_refresh_is_retried(sandbox, sandbox_token, tmp_path):
    emails = emails_for("afterrefresh", 3)
    add_fault(sandbox, method="GET", path="/rest/dmpSegments", status=401, body=EXPIRED_BODY, count=1)
    add_fault(sandbox, method="GET", path="/rest/dmpSegments", status=401, body=REVOKED_BODY, count=2)

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 3}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 3}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
    finds = finder_requests(sandbox)
    assert [find["status"] for find in finds[:4]] == [401, 401, 401, 200]
    revoked_gaps = [finds[2]["at"] - finds[1]["at"], finds[3]["at"] - finds[2]["at"]]
    assert min(revoked_gaps) >= 1.9, f"65601 retries were not 2 s apart: {revoked_gaps}"


def test_revoked_after_refresh_stops_after_three(sandbox, sandbox_token, tmp_path):
    emails = emails_for("stillrevoked", 2)
    add_fault(sandbox, method="GET", path="/rest/dmpSegments", status=401, body=EXPIRED_BODY, count=1)
    add_fault(sandbox, method="GET", path="/rest/dmpSegments", status=401, body=REVOKED_BODY, count=50)

    config = fault_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=10, max_retry_seconds=30)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 4}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_AUTH, run.stderr
    assert run.states == []
    # One 65602, a refresh, then the first 65601 and its three retries.
    assert [find["status"] for find in finder_requests(sandbox)] == [401] * 5
    assert member_requests(sandbox) == []
    assert "linkedin-audiences auth login" in run.stderr, "the error does not say how to recover"


def test_refresh_invalid_grant_fails_clearly(sandbox, sandbox_token, tmp_path):
    emails = emails_for("invalidgrant", 3)
    expire_token(sandbox, sandbox_token["access_token"])
    add_fault(
        sandbox, method="POST", path="/oauth/v2/accessToken", status=400, count=5,
        body={"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"},
    )

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 5}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_AUTH, run.stderr
    assert run.states == []
    assert "invalid_grant" in run.stderr
    assert "linkedin-audiences auth login" in run.stderr
    refreshes = [r for r in sandbox_requests(sandbox) if r["path"] == "/oauth/v2/accessToken"]
    assert len(refreshes) == 1
    assert member_requests(sandbox) == []


def test_refresh_token_revoked_fails_then_rerun(sandbox, sandbox_token, tmp_path):
    emails = emails_for("deadrefresh", 3)
    expire_token(sandbox, sandbox_token["access_token"])
    revoke_token(sandbox, sandbox_token["refresh_token"])

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 6}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_AUTH, run.stderr
    assert run.states == []
    assert "linkedin-audiences auth login" in run.stderr

    fresh = sandbox.issue_token()
    rerun = run_checked(sandbox, fault_config(sandbox, fresh, tmp_path), contact_input(emails, state={"b": 6}),
                        tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"b": 6}]
    assert segment_digests(sandbox, fresh) == digests(emails)


def test_refresh_server_error_is_retried(sandbox, sandbox_token, tmp_path):
    emails = emails_for("refresh503", 3)
    expire_token(sandbox, sandbox_token["access_token"])
    add_fault(sandbox, method="POST", path="/oauth/v2/accessToken", status=503, count=1)

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 7}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 7}]
    assert segment_digests(sandbox, sandbox.issue_token()) == digests(emails)
