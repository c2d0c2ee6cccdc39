"""Throttling, server errors, dropped connections and timeouts: retried within bounds, nothing lost.

Each test injects the fault through the sandbox, runs the real target over HTTP, and checks the
segment's final members, the STATE messages, the exit code and how many attempts were made.
"""

from __future__ import annotations

import time

import pytest

from target_linkedin_audiences.errors import EXIT_API
from tests.target_helpers import sandbox_requests
from tests.fault_helpers import (
    USERS_PATH,
    add_fault,
    clear_faults,
    contact_input,
    digests,
    emails_for,
    fault_config,
    member_requests,
    run_checked,
    segment_digests,
    wait_for,
)


def test_429_with_retry_after_is_honoured(sandbox, sandbox_token, tmp_path):
    emails = emails_for("retryafter", 3)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=429, count=2, headers={"Retry-After": "1"})

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 1}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 1}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
    posts = member_requests(sandbox)
    assert [post["status"] for post in posts] == [429, 429, 200]
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(posts, posts[1:])]
    assert min(gaps) >= 0.9, f"Retry-After: 1 was not honoured, gaps {gaps}"


def test_429_without_retry_after_backs_off(sandbox, sandbox_token, tmp_path):
    emails = emails_for("noretryafter", 3)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=429, count=2)

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 2}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 2}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
    assert [post["status"] for post in member_requests(sandbox)] == [429, 429, 200]
    assert run.stderr.count("after HTTP 429") == 2


def test_429_storm_stops_at_attempt_limit(sandbox, sandbox_token, tmp_path):
    emails = emails_for("storm", 4)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=429, count=100, headers={"Retry-After": "1"})

    config = fault_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=3, max_retry_seconds=60)
    started = time.monotonic()
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 3}), tmp_path, secrets=emails)
    elapsed = time.monotonic() - started

    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    assert len(member_requests(sandbox)) == 3
    assert "gave up after 3 attempts" in run.stderr
    assert elapsed < 20
    assert segment_digests(sandbox, sandbox_token) == set()

    clear_faults(sandbox)
    rerun = run_checked(sandbox, config, contact_input(emails, state={"b": 3}), tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"b": 3}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)


def test_429_storm_stops_at_time_budget(sandbox, sandbox_token, tmp_path):
    emails = emails_for("budget", 2)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=429, count=100, headers={"Retry-After": "1"})

    config = fault_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=100, max_retry_seconds=3)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 4}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    posts = member_requests(sandbox)
    assert 2 <= len(posts) <= 5
    assert posts[-1]["at"] - posts[0]["at"] <= 3.5
    assert "gave up after" in run.stderr


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_retried_then_delivered(sandbox, sandbox_token, tmp_path, status):
    emails = emails_for(f"server{status}", 3)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=status, count=1)

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": status}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": status}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
    assert [post["status"] for post in member_requests(sandbox)] == [status, 200]
    assert run.stderr.count(f"after HTTP {status}") == 1


def test_server_error_storm_fails_then_rerun(sandbox, sandbox_token, tmp_path):
    emails = emails_for("storm503", 3)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=503, count=100)

    config = fault_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=2)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 5}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    assert len(member_requests(sandbox)) == 2
    assert "gave up after 2 attempts" in run.stderr
    assert "HTTP 503" in run.stderr

    clear_faults(sandbox)
    rerun = run_checked(sandbox, config, contact_input(emails, state={"b": 5}), tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"b": 5}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)


def test_dropped_connection_retried(sandbox, sandbox_token, tmp_path):
    emails = emails_for("dropped", 3)
    add_fault(sandbox, method="POST", path=USERS_PATH, drop_connection=True, count=1)

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 6}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 6}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
    assert [post["status"] for post in member_requests(sandbox)] == [0, 200]
    assert "no response from LinkedIn" in run.stderr


def test_slow_response_times_out_and_retries(sandbox, sandbox_token, tmp_path):
    emails = emails_for("slow", 3)
    add_fault(sandbox, method="POST", path=USERS_PATH, delay_seconds=3, count=1)

    config = fault_config(sandbox, sandbox_token, tmp_path, request_timeout_seconds=1)
    started = time.monotonic()
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 7}), tmp_path, secrets=emails)
    elapsed = time.monotonic() - started

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 7}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
    assert "Retrying POST /rest/dmpSegments/1/users after no response from LinkedIn" in run.stderr
    assert elapsed < 15
    # The sandbox responds to the slow request after the target gave up on it. Wait so that the
    # request does not land in the next test's request log.
    wait_for(lambda: len(member_requests(sandbox)) == 2, "the slow request to finish")


def test_slow_responses_stop_at_attempt_limit(sandbox, sandbox_token, tmp_path):
    emails = emails_for("allslow", 2)
    add_fault(sandbox, method="POST", path=USERS_PATH, delay_seconds=2, count=2)

    config = fault_config(sandbox, sandbox_token, tmp_path, request_timeout_seconds=0.5, max_retry_attempts=2)
    started = time.monotonic()
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 8}), tmp_path, secrets=emails)
    elapsed = time.monotonic() - started

    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    assert "no response from LinkedIn: ReadTimeout" in run.stderr
    assert "gave up after 2 attempts" in run.stderr
    assert elapsed < 15
    wait_for(lambda: len(member_requests(sandbox)) == 2, "the slow requests to finish")


def test_long_retry_after_respects_time_budget(sandbox, sandbox_token, tmp_path):
    emails = emails_for("longretryafter", 2)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=429, count=100, headers={"Retry-After": "30"})

    config = fault_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=5, max_retry_seconds=3)
    started = time.monotonic()
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 9}), tmp_path, secrets=emails)
    elapsed = time.monotonic() - started

    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    assert elapsed < 15, f"a Retry-After of 30 s kept the run waiting {elapsed:.0f} s past max_retry_seconds=3"


def test_create_timeout_makes_one_segment(sandbox, sandbox_token, tmp_path):
    emails = emails_for("createtimeout", 3)
    # The sandbox responds to the create after the client gave up on it, so the retry may meet a 409.
    add_fault(sandbox, method="POST", path="/rest/dmpSegments", delay_seconds=2, count=1)

    config = fault_config(sandbox, sandbox_token, tmp_path, request_timeout_seconds=1)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 10}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 10}]
    wait_for(
        lambda: len([r for r in sandbox_requests(sandbox) if r["method"] == "POST" and r["path"] == "/rest/dmpSegments"]) == 2,
        "the slow create to finish",
    )
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
