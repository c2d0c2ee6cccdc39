"""The target end to end: real subprocess, real HTTP, the sandbox as LinkedIn."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from tests.target_helpers import (
    SAMPLE_DATA,
    add_fault,
    run_target,
    sample_customers,
    sample_organizations,
    sandbox_members,
    sandbox_requests,
    segment_by_name,
    segments_of_account,
    sha256_email,
    singer_lines,
    target_config,
)

DELETED_CONTACT_INDEXES = {3, 17, 42, 64, 99}
DELETED_ACCOUNT_INDEXES = {5, 250, 777}
CONTACT_SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": ["string", "null"]}}}


def contact_input(emails: list[str], *, state: dict | None = None, deleted: set[int] = frozenset()) -> str:
    records = [{"id": str(i), "email": email, "deleted": i in deleted} for i, email in enumerate(emails)]
    schema = {**CONTACT_SCHEMA, "properties": {**CONTACT_SCHEMA["properties"], "deleted": {"type": "boolean"}}}
    return singer_lines("contacts", schema, records, key_properties=["id"], state=state)


def test_sample_contacts_land_hashed(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, delete_field="IsDeleted")
    run = run_target(config, (SAMPLE_DATA / "contacts.singer.jsonl").read_text(), tmp_path)
    assert run.returncode == 0, run.stderr

    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    assert segment["type"] == "USER"
    members = sandbox_members(sandbox, segment["id"])
    received = {member["userIds"][0]["idValue"] for member in members}
    expected = {
        sha256_email(row["Email"]) for row in sample_customers() if int(row["Index"]) not in DELETED_CONTACT_INDEXES
    }
    assert received == expected
    assert all(member["userIds"][0]["idType"] == "SHA256_EMAIL" for member in members)

    first = next(m for m in members if m["userIds"][0]["idValue"] == sha256_email("zunigavanessa@smith.info"))
    assert first["country"] == "CL"
    assert first["company"] == "Rasmussen Group"


def test_sample_accounts_land_with_company_fields(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, delete_field="IsDeleted")
    run = run_target(config, (SAMPLE_DATA / "accounts.singer.jsonl").read_text(), tmp_path)
    assert run.returncode == 0, run.stderr

    segment = segment_by_name(sandbox, sandbox_token, "accounts")
    assert segment["type"] == "COMPANY"
    members = sandbox_members(sandbox, segment["id"])
    received = {(m.get("companyName"), m.get("companyWebsiteDomain")) for m in members}
    expected = {
        (row["Name"], urlparse(row["Website"]).hostname.removeprefix("www."))
        for row in sample_organizations()
        if int(row["Index"]) not in DELETED_ACCOUNT_INDEXES
    }
    assert received == expected

    by_name = {m["companyName"]: m for m in members}
    assert by_name["Liu-Hoover"]["country"] == "EH"
    assert by_name["Liu-Hoover"]["industries"] == ["Online Publishing"]
    assert by_name["Orr-Armstrong"]["country"] == "DZ"


def test_deletes_remove_members(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, delete_field="deleted")
    emails = [f"person{i}@example.com" for i in range(10)]
    assert run_target(config, contact_input(emails), tmp_path).returncode == 0
    second = run_target(config, contact_input(emails[:4], deleted={0, 1}), tmp_path)
    assert second.returncode == 0, second.stderr

    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    received = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, segment["id"])}
    assert received == {sha256_email(email) for email in emails[2:]}


def test_state_emitted_after_delivery(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path)
    run = run_target(config, contact_input(["a@example.com", "b@example.com"], state={"bookmark": 7}), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"bookmark": 7}]


def test_rerun_finds_same_segment(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path)
    for _ in range(2):
        assert run_target(config, contact_input(["a@example.com"]), tmp_path).returncode == 0
    names = [s["name"] for s in segments_of_account(sandbox, sandbox_token, sandbox.default_account_id)]
    assert names.count("contacts") == 1


def test_batches_full_but_last(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, batch_size_rows=10, delete_field="deleted")
    emails = [f"user{i}@example.com" for i in range(25)]
    run = run_target(config, contact_input(emails, deleted={3, 4}), tmp_path)
    assert run.returncode == 0, run.stderr

    sizes: dict[str, list[int]] = {"ADD": [], "REMOVE": []}
    for request in sandbox_requests(sandbox):
        if request["method"] == "POST" and request["path"].endswith("/users"):
            elements = request["body"]["elements"]
            sizes[elements[0]["action"]].append(len(elements))
    assert sizes == {"ADD": [10, 10, 3], "REMOVE": [2]}


def test_duplicates_collapse_last_action_wins(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, delete_field="deleted")
    schema = {"type": "object", "properties": {"email": {"type": "string"}, "deleted": {"type": "boolean"}}}
    records = [
        {"email": "dup@example.com", "deleted": False},
        {"email": " DUP@example.com ", "deleted": True},
        {"email": "keep@example.com", "deleted": False},
        {"email": "keep@example.com", "deleted": False},
    ]
    run = run_target(config, singer_lines("contacts", schema, records), tmp_path)
    assert run.returncode == 0, run.stderr

    bodies = [r["body"]["elements"] for r in sandbox_requests(sandbox) if r["path"].endswith("/users")]
    sent = [(e["action"], e["userIds"][0]["idValue"]) for body in bodies for e in body]
    assert sorted(sent) == sorted([("REMOVE", sha256_email("dup@example.com")), ("ADD", sha256_email("keep@example.com"))])


def test_dry_run_calls_nothing(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, dry_run=True)
    run = run_target(config, contact_input(["Ana.Lopez@Example.COM"], state={"s": 1}), tmp_path)
    assert run.returncode == 0, run.stderr
    assert sandbox_requests(sandbox) == []

    payloads = [json.loads(line) for line in run.dry_run_path.read_text().splitlines()]
    assert len(payloads) == 1
    element = payloads[0]["body"]["elements"][0]
    assert element["userIds"] == [{"idType": "SHA256_EMAIL", "idValue": sha256_email("ana.lopez@example.com")}]
    assert "Ana.Lopez" not in run.dry_run_path.read_text()


def test_skips_are_counted_and_rejected(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path)
    run = run_target(config, contact_input(["ok@example.com", "   ", "not-an-email", None]), tmp_path)
    assert run.returncode == 0, run.stderr
    reasons = sorted(reject["reason"] for reject in run.rejects)
    assert reasons == ["invalid_email", "no_identifier", "no_identifier"]
    assert "not-an-email" not in run.reject_path.read_text()
    assert "not-an-email" not in run.stderr


def test_failed_batch_emits_no_state(sandbox, sandbox_token, tmp_path):
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=403, count=1)
    config = target_config(sandbox, sandbox_token, tmp_path)
    run = run_target(config, contact_input(["a@example.com"], state={"bookmark": 1}), tmp_path)
    assert run.returncode != 0
    assert run.states == []
    assert "403" in run.stderr


def test_partial_rejects_written_before_state(sandbox, sandbox_token, tmp_path):
    mixed = {"elements": [{"status": 201}, {"status": 400, "error": {"message": "idValue is invalid"}}]}
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=200, count=1, body=mixed)
    config = target_config(sandbox, sandbox_token, tmp_path)
    run = run_target(config, contact_input(["good@example.com", "bad@example.com"], state={"b": 2}), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 2}]

    linkedin_rejects = [r for r in run.rejects if r["stage"] == "linkedin"]
    assert len(linkedin_rejects) == 1
    assert linkedin_rejects[0]["status"] == 400
    assert linkedin_rejects[0]["reason"] == "idValue is invalid"
    assert linkedin_rejects[0]["element"]["userIds"][0]["idValue"] == sha256_email("bad@example.com")
    assert linkedin_rejects[0]["record_key"] == "1"


def test_whole_batch_400_is_split(sandbox, sandbox_token, tmp_path):
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=400, count=1,
              body={"status": 400, "code": "INVALID_BATCH", "message": "rejected"})
    config = target_config(sandbox, sandbox_token, tmp_path)
    emails = [f"s{i}@example.com" for i in range(6)]
    run = run_target(config, contact_input(emails, state={"b": 3}), tmp_path)
    assert run.returncode == 0, run.stderr
    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    received = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, segment["id"])}
    assert received == {sha256_email(e) for e in emails}
    assert run.states == [{"b": 3}]


def test_retries_429_then_delivers(sandbox, sandbox_token, tmp_path):
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=429, count=2,
              headers={"Retry-After": "1"})
    config = target_config(sandbox, sandbox_token, tmp_path)
    run = run_target(config, contact_input(["r@example.com"], state={"b": 4}), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 4}]
    assert "Retrying POST" in run.stderr


def test_unsupported_version_names_setting(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path, api_version="202301")
    run = run_target(config, contact_input(["v@example.com"], state={"b": 5}), tmp_path)
    assert run.returncode != 0
    assert run.states == []
    assert "api_version" in run.stderr


@pytest.mark.parametrize("account_form", ["plain", "string", "urn"])
def test_account_id_forms(sandbox, sandbox_token, tmp_path, account_form):
    account = int(sandbox.default_account_id)
    value = {"plain": account, "string": str(account), "urn": f"urn:li:sponsoredAccount:{account}"}[account_form]
    config = target_config(sandbox, sandbox_token, tmp_path, ad_account_id=value)
    assert run_target(config, contact_input(["x@example.com"]), tmp_path).returncode == 0
    assert segment_by_name(sandbox, sandbox_token, "contacts")["account"] == f"urn:li:sponsoredAccount:{account}"


def test_malformed_lines_skipped(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path)
    good = contact_input(["m1@example.com", "m2@example.com"], state={"b": 6}).splitlines()
    broken = [good[0], '{"type": "RECORD", "stream": "contacts", "record": {"email": "leak@example.com"', good[1], "[1, 2]", good[2], good[3]]
    run = run_target(config, "\n".join(broken) + "\n", tmp_path)
    assert run.returncode == 0, run.stderr
    assert "line 2" in run.stderr
    assert "leak@example.com" not in run.stderr
    assert sorted(r["line"] for r in run.rejects if r.get("stage") == "input") == [2, 4]
    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    assert len(sandbox_members(sandbox, segment["id"])) == 2


def test_sdc_deleted_at_removes_members(sandbox, sandbox_token, tmp_path):
    config = target_config(sandbox, sandbox_token, tmp_path)
    schema = {"type": "object", "properties": {"email": {"type": "string"}, "_sdc_deleted_at": {"type": ["string", "null"]}}}
    records = [
        {"email": "stays@example.com", "_sdc_deleted_at": None},
        {"email": "leaves@example.com", "_sdc_deleted_at": "2026-11-30T10:00:00Z"},
    ]
    run = run_target(config, singer_lines("contacts", schema, records), tmp_path)
    assert run.returncode == 0, run.stderr

    bodies = [r["body"]["elements"] for r in sandbox_requests(sandbox) if r["path"].endswith("/users")]
    sent = sorted((e["action"], e["userIds"][0]["idValue"]) for body in bodies for e in body)
    assert sent == sorted([("ADD", sha256_email("stays@example.com")), ("REMOVE", sha256_email("leaves@example.com"))])


def test_stream_maps_still_apply_to_records(sandbox, sandbox_token, tmp_path):
    # A stream with a stream map takes singer-sdk's per-record path, which applies the map; a
    # stream without one goes straight to its sink. Both run in the same input here.
    config = target_config(
        sandbox, sandbox_token, tmp_path,
        stream_maps={"contacts": {"__filter__": "'keep' in email", "email": "email.replace('+keep', '')"}},
    )
    schema = {"type": "object", "properties": {"email": {"type": "string"}}}
    mapped = singer_lines("contacts", schema, [{"email": "a+keep@example.com"}, {"email": "b@example.com"}])
    plain = singer_lines("leads", schema, [{"email": "c+keep@example.com"}, {"email": "d@example.com"}])
    run = run_target(config, mapped + plain, tmp_path)
    assert run.returncode == 0, run.stderr

    contacts = segment_by_name(sandbox, sandbox_token, "contacts")
    leads = segment_by_name(sandbox, sandbox_token, "leads")
    assert [m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, contacts["id"])] == [sha256_email("a@example.com")]
    assert sorted(m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, leads["id"])) == sorted(
        [sha256_email("c+keep@example.com"), sha256_email("d@example.com")]
    )
