"""Segment and request faults: 404 on a new or deleted segment, 409 on create, 426, 403 VIEWER,
per-element and whole-batch 400s, and the 1,000-segment limit of an ad account."""

from __future__ import annotations

import signal

import pytest
import requests

from target_linkedin_audiences.errors import EXIT_API, EXIT_AUTH, EXIT_CONFIG
from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings
from tests.fault_helpers import (
    CONTACT_SCHEMA,
    USERS_PATH,
    add_fault,
    clear_faults,
    collect_and_check,
    contact_input,
    digests,
    emails_for,
    fault_config,
    member_requests,
    parse_states,
    run_checked,
    segment_digests,
    start_target,
    stop_process,
    wait_for,
)
from tests.target_helpers import (
    sandbox_members,
    sandbox_requests,
    segment_by_name,
    segments_of_account,
    sha256_email,
    singer_lines,
)

VIEWER_ACCOUNT_ID = 510000003
SUNSET_VERSION = "202507"


def api_headers(token: dict, restli_method: str) -> dict:
    return {
        "Authorization": f"Bearer {token['access_token']}",
        "LinkedIn-Version": "202608",
        "X-Restli-Protocol-Version": "2.0.0",
        "X-RestLi-Method": restli_method,
    }


def create_segment(session: requests.Session, sandbox, token: dict, name: str, source_segment_id: str) -> str:
    """Create a USER segment on the default account through the API, as another client would."""
    entity = {
        "name": name,
        "account": f"urn:li:sponsoredAccount:{sandbox.default_account_id}",
        "type": "USER",
        "sourcePlatform": sandbox.source_platform,
        "sourceSegmentId": source_segment_id,
        "destinations": [{"destination": "LINKEDIN"}],
    }
    response = session.post(f"{sandbox.url}/rest/dmpSegments", json=entity, headers=api_headers(token, "CREATE"), timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["x-restli-id"]


def delete_segment(sandbox, token: dict, segment_id: str) -> None:
    response = requests.delete(f"{sandbox.url}/rest/dmpSegments/{segment_id}", headers=api_headers(token, "DELETE"), timeout=10)
    assert response.status_code == 204, response.text


def contacts_key(sandbox) -> str:
    return f"contacts@{sandbox.default_account_id}"


# 404


@pytest.fixture(scope="module")
def slow_segment_sandbox(tmp_path_factory):
    """A sandbox whose new segments return 404 on member writes for their first 2 seconds."""
    db_path = tmp_path_factory.mktemp("slow-segments") / "sandbox.db"
    settings = SandboxSettings(segment_ready_delay_seconds=2, build_delay_seconds=2, updating_seconds=5)
    with SandboxServer(db_path, settings=settings) as server:
        yield server


def test_new_segment_404_is_retried(slow_segment_sandbox, tmp_path):
    sandbox = slow_segment_sandbox
    sandbox.reset()
    token = sandbox.issue_token()
    emails = emails_for("fresh404", 3)

    config = fault_config(sandbox, token, tmp_path, max_retry_attempts=8, max_retry_seconds=20)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 1}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 1}]
    assert segment_digests(sandbox, token) == digests(emails)
    statuses = [post["status"] for post in member_requests(sandbox)]
    assert statuses[-1] == 200
    assert set(statuses[:-1]) == {404}, statuses
    assert len(statuses) >= 2


def test_deleted_segment_between_runs_recreated(sandbox, sandbox_token, tmp_path):
    first_emails = emails_for("beforedelete", 3)
    config = fault_config(sandbox, sandbox_token, tmp_path)
    first = run_checked(sandbox, config, contact_input(first_emails, state={"b": 1}), tmp_path, secrets=first_emails)
    assert first.returncode == 0, first.stderr
    old_id = segment_by_name(sandbox, sandbox_token, "contacts")["id"]

    delete_segment(sandbox, sandbox_token, old_id)
    second_emails = emails_for("afterdelete", 2)
    second = run_checked(sandbox, config, contact_input(second_emails, state={"b": 2}), tmp_path, secrets=second_emails)

    assert second.returncode == 0, second.stderr
    assert second.states == [{"b": 2}]
    new_segment = segment_by_name(sandbox, sandbox_token, "contacts")
    assert new_segment["id"] != old_id
    assert segment_digests(sandbox, sandbox_token) == digests(second_emails)


def test_deleted_segment_mid_run_fails_then_rerun(sandbox, sandbox_token, tmp_path):
    emails = emails_for("midrundelete", 3)
    config = fault_config(sandbox, sandbox_token, tmp_path, request_timeout_seconds=5)
    first = run_checked(sandbox, config, contact_input(emails[:1]), tmp_path, secrets=emails)
    assert first.returncode == 0, first.stderr
    old_id = segment_by_name(sandbox, sandbox_token, "contacts")["id"]

    # The next run finds the segment, and its first batch is held while the segment is deleted.
    add_fault(sandbox, method="POST", path=USERS_PATH, delay_seconds=2, count=1)
    seen = len(sandbox_requests(sandbox))
    process = start_target(config, contact_input(emails, state={"b": 3}), tmp_path)
    wait_for(
        lambda: any(r["method"] == "GET" and r["path"] == "/rest/dmpSegments" for r in sandbox_requests(sandbox)[seen:]),
        "the target to look its segment up",
    )
    delete_segment(sandbox, sandbox_token, old_id)
    process.wait(timeout=60)
    stdout, stderr = stop_process(process, signal.SIGKILL)
    collect_and_check(sandbox, config, tmp_path, stdout, stderr, emails)

    assert process.returncode == EXIT_API, stderr
    assert parse_states(stdout) == []
    assert "404" in stderr
    assert member_requests(sandbox)[-1]["status"] == 404

    rerun = run_checked(sandbox, config, contact_input(emails, state={"b": 3}), tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"b": 3}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)


# 409, 426, 403


def test_conflict_on_create_uses_other_segment(sandbox, sandbox_token, tmp_path):
    emails = emails_for("conflict", 3)
    # The target's create is held 2 s. Meanwhile another client creates a segment with its key.
    add_fault(sandbox, method="POST", path="/rest/dmpSegments", delay_seconds=2, count=1)
    config = fault_config(sandbox, sandbox_token, tmp_path, request_timeout_seconds=5)
    process = start_target(config, contact_input(emails, state={"b": 4}), tmp_path)

    def create_taken() -> bool:
        faults = requests.get(f"{sandbox.url}/_sandbox/faults", timeout=10).json()["faults"]
        return all(fault["remaining"] == 0 for fault in faults)

    wait_for(create_taken, "the target to send its create request")
    other_id = create_segment(requests.Session(), sandbox, sandbox_token, "contacts from another run", contacts_key(sandbox))
    process.wait(timeout=60)
    stdout, stderr = stop_process(process, signal.SIGKILL)
    collect_and_check(sandbox, config, tmp_path, stdout, stderr, emails)

    assert process.returncode == 0, stderr
    assert parse_states(stdout) == [{"b": 4}]
    creates = [r["status"] for r in sandbox_requests(sandbox) if r["method"] == "POST" and r["path"] == "/rest/dmpSegments"]
    assert 409 in creates
    assert "created concurrently" in stderr
    received = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, other_id)}
    assert received == digests(emails)
    assert len(segments_of_account(sandbox, sandbox_token, sandbox.default_account_id)) == 1


def test_sunset_version_fails_with_config_exit(sandbox, sandbox_token, tmp_path):
    emails = emails_for("sunset", 2)
    config = fault_config(sandbox, sandbox_token, tmp_path, api_version=SUNSET_VERSION)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 5}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_CONFIG, run.stderr
    assert run.states == []
    assert "426" in run.stderr
    assert "api_version" in run.stderr
    # 426 is not retried: one request, then the run stops.
    assert len([r for r in sandbox_requests(sandbox) if r["path"].startswith("/rest/")]) == 1


def test_viewer_account_fails_with_auth_exit(sandbox, sandbox_token, tmp_path):
    emails = emails_for("viewer", 2)
    config = fault_config(sandbox, sandbox_token, tmp_path, ad_account_id=VIEWER_ACCOUNT_ID)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 6}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_AUTH, run.stderr
    assert run.states == []
    assert "403" in run.stderr
    assert "VIEWER" in run.stderr
    assert segments_of_account(sandbox, sandbox_token, VIEWER_ACCOUNT_ID) == []
    assert member_requests(sandbox) == []


# 400


def test_element_400s_in_200_are_rejected(sandbox, sandbox_token, tmp_path):
    emails = emails_for("elements", 4)
    results = {
        "elements": [
            {"status": 201},
            {"status": 400, "batchIndex": 1, "error": {"code": "INVALID_ID_VALUE", "message": "idValue is invalid"}},
            {"status": 201},
            {"status": 400, "batchIndex": 3, "error": {"code": "FIELD_TOO_LONG", "message": "Field 'company' is too long"}},
        ]
    }
    add_fault(sandbox, method="POST", path=USERS_PATH, status=200, body=results, count=1)
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 7}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    # Every element is accepted or in the reject file, so the state may pass them.
    assert run.states == [{"b": 7}]
    rejects = sorted((r for r in run.rejects if r["stage"] == "linkedin"), key=lambda r: r["record_key"])
    assert [(r["record_key"], r["status"], r["reason"]) for r in rejects] == [
        ("1", 400, "idValue is invalid"),
        ("3", 400, "Field 'company' is too long"),
    ]
    assert [r["element"]["userIds"][0]["idValue"] for r in rejects] == [sha256_email(emails[1]), sha256_email(emails[3])]
    assert "accepted=2 rejected=2" in run.stderr


def test_whole_batch_400_isolates_bad_element(sandbox, sandbox_token, tmp_path):
    emails = emails_for("split", 4)
    # Three 400s: the batch of 4, its first half, then the first element alone.
    add_fault(sandbox, method="POST", path=USERS_PATH, status=400, count=3,
              body={"status": 400, "code": "INVALID_BATCH", "message": "the batch is invalid"})
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 8}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 8}]
    assert [len(post["body"]["elements"]) for post in member_requests(sandbox)] == [4, 2, 1, 1, 2]
    rejects = [r for r in run.rejects if r["stage"] == "linkedin"]
    assert [(r["record_key"], r["status"]) for r in rejects] == [("0", 400)]
    assert "INVALID_BATCH" in rejects[0]["reason"]
    assert segment_digests(sandbox, sandbox_token) == digests(emails[1:])


def test_every_element_400_all_rejected(sandbox, sandbox_token, tmp_path):
    emails = emails_for("allbad", 4)
    add_fault(sandbox, method="POST", path=USERS_PATH, status=400, count=100)
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 9}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 9}]
    # Halving ends at single elements: 1 + 2 + 4 requests, each element rejected once.
    assert len(member_requests(sandbox)) == 7
    assert sorted(r["record_key"] for r in run.rejects if r["stage"] == "linkedin") == ["0", "1", "2", "3"]
    assert segment_digests(sandbox, sandbox_token) == set()


# The 1,000-segment limit


def test_segment_limit_fails_then_rerun(sandbox, sandbox_token, tmp_path):
    session = requests.Session()
    filler_ids = [
        create_segment(session, sandbox, sandbox_token, f"filler {index}", f"filler-{index}") for index in range(1000)
    ]
    emails = emails_for("limit", 3)
    config = fault_config(sandbox, sandbox_token, tmp_path)
    seen = len(sandbox_requests(sandbox))

    run = run_checked(sandbox, config, contact_input(emails, state={"b": 10}), tmp_path, secrets=emails)

    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    assert "SEGMENT_LIMIT_EXCEEDED" in run.stderr
    creates = [r for r in sandbox_requests(sandbox)[seen:] if r["method"] == "POST" and r["path"] == "/rest/dmpSegments"]
    assert [create["status"] for create in creates] == [429], "the segment limit must not be retried"

    delete_segment(sandbox, sandbox_token, filler_ids[0])
    rerun = run_checked(sandbox, config, contact_input(emails, state={"b": 10}), tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"b": 10}]
    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    received = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, segment["id"])}
    assert received == digests(emails)


# Several streams and mirror sync


def test_failed_stream_blocks_state_of_all(sandbox, sandbox_token, tmp_path):
    contacts = emails_for("streamok", 3)
    leads = emails_for("streamdenied", 3)
    text = contact_input(contacts, state={"b": 11})
    text += singer_lines("leads", CONTACT_SCHEMA, [{"id": str(i), "email": e} for i, e in enumerate(leads)],
                         key_properties=["id"], state={"b": 12})
    # Each stream's batches leave from their own sender thread, so the order in which the target
    # creates segments is not fixed. The leads segment exists beforehand, under the key the target
    # looks for, so the fault can name its id.
    leads_id = create_segment(requests.Session(), sandbox, sandbox_token, "leads", f"leads@{sandbox.default_account_id}")
    add_fault(sandbox, method="POST", path=f"/rest/dmpSegments/{leads_id}/users", status=503, count=100)
    config = fault_config(sandbox, sandbox_token, tmp_path, max_retry_attempts=2, batch_size_rows=3)
    run = run_checked(sandbox, config, text, tmp_path, secrets=contacts + leads)

    # The contacts were delivered, but STATE b11 waits for a drain that the failure prevents.
    assert run.returncode == EXIT_API, run.stderr
    assert run.states == []
    assert segment_digests(sandbox, sandbox_token, "contacts") == digests(contacts)
    assert segment_digests(sandbox, sandbox_token, "leads") == set()

    clear_faults(sandbox)
    rerun = run_checked(sandbox, config, text, tmp_path, secrets=contacts + leads)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states[-1] == {"b": 12}
    assert segment_digests(sandbox, sandbox_token, "contacts") == digests(contacts)
    assert segment_digests(sandbox, sandbox_token, "leads") == digests(leads)


def test_mirror_sync_removes_nobody_after_failure(sandbox, sandbox_token, tmp_path):
    emails = emails_for("mirrorfail", 10)
    config = fault_config(sandbox, sandbox_token, tmp_path, sync_mode="mirror", max_retry_attempts=2)
    first = run_checked(sandbox, config, contact_input(emails, state={"b": 13}), tmp_path, secrets=emails)
    assert first.returncode == 0, first.stderr

    # The next full set drops one member, and its ADD batch fails.
    add_fault(sandbox, method="POST", path=USERS_PATH, status=503, count=100)
    second = run_checked(sandbox, config, contact_input(emails[1:], state={"b": 14}), tmp_path, secrets=emails)

    assert second.returncode == EXIT_API, second.stderr
    assert second.states == []
    assert [post for post in member_requests(sandbox) if post["body"]["elements"][0]["action"] == "REMOVE"] == []
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
