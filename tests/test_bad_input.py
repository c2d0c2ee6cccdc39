"""Bad Singer input: each case ends in a counted skip or a clear error, and never echoes a value.

Every run goes through `run_checked`, which fails the test when a plaintext email, name, phone
number or token from the input shows up in stdout, stderr, the reject file or the sandbox log.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time

from target_linkedin_audiences.errors import EXIT_CONFIG, EXIT_INPUT
from tests.fault_helpers import (
    CONTACT_SCHEMA,
    contact_input,
    digests,
    emails_for,
    fault_config,
    member_requests,
    run_checked,
    segment_digests,
)
from tests.target_helpers import SAMPLE_DATA, sandbox_requests, singer_lines


def schema_line(stream: str = "contacts", schema: dict | None = None, key_properties: list[str] | None = None) -> str:
    return json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema or CONTACT_SCHEMA,
                       "key_properties": ["id"] if key_properties is None else key_properties})


def record_line(record: dict, stream: str = "contacts") -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": record})


def state_line(value: dict) -> str:
    return json.dumps({"type": "STATE", "value": value})


def reasons_by_key(run) -> dict[str, str]:
    return {reject["record_key"]: reject["reason"] for reject in run.rejects if reject.get("stage") == "mapping"}


def summary_line(stderr: str, stream: str = "contacts") -> str:
    lines = [line for line in stderr.splitlines() if f"Stream '{stream}' summary:" in line]
    assert len(lines) == 1, f"expected one summary line for {stream!r}"
    return lines[0]


def test_malformed_lines_counted_by_line(sandbox, sandbox_token, tmp_path):
    emails = emails_for("malformed", 3)
    hidden = "hidden.person@example.com"
    lines = [
        schema_line(),
        record_line({"id": "0", "email": emails[0]}),
        record_line({"id": "x", "email": hidden})[:-7],
        "[1, 2, 3]",
        json.dumps({"type": "NOT_A_TYPE", "stream": "contacts", "record": {"email": hidden}}),
        json.dumps({"stream": "contacts", "record": {"email": hidden}}),
        f"plain text mentioning {hidden}",
        record_line({"id": "1", "email": emails[1]}),
        "",
        record_line({"id": "2", "email": emails[2]}),
        state_line({"b": 1}),
    ]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, "\n".join(lines) + "\n", tmp_path, secrets=[*emails, hidden])

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 1}]
    input_rejects = {reject["line"]: reject["reason"] for reject in run.rejects if reject.get("stage") == "input"}
    assert sorted(input_rejects) == [3, 4, 5, 6, 7]
    assert input_rejects[3].startswith("not valid JSON")
    assert input_rejects[4] == "not a JSON object"
    assert "NOT_A_TYPE" in input_rejects[5]
    assert "(none)" in input_rejects[6]
    assert input_rejects[7].startswith("not valid JSON")
    for line_number in (3, 4, 5, 6, 7):
        assert f"Skipped input line {line_number}:" in run.stderr
    assert "Skipped 5 malformed input lines" in run.stderr
    assert segment_digests(sandbox, sandbox_token) == digests(emails)


def test_record_before_schema_fails_naming_line(sandbox, sandbox_token, tmp_path):
    email = "early.person@example.com"
    lines = [record_line({"id": "0", "email": email}), schema_line(), state_line({"b": 2})]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, "\n".join(lines) + "\n", tmp_path, secrets=[email])

    assert run.returncode == EXIT_INPUT, run.stderr
    assert run.states == []
    assert "Invalid Singer input" in run.stderr
    assert "'contacts'" in run.stderr
    assert "line 1" in run.stderr, "the error does not name the input line"
    assert member_requests(sandbox) == []


def test_schema_change_mid_stream_delivers_both(sandbox, sandbox_token, tmp_path):
    before = emails_for("schemav1", 2)
    after = emails_for("schemav2", 2)
    renamed = {"type": "object", "properties": {"id": {"type": "string"}, "work_email": {"type": "string"},
                                                "title": {"type": "string"}}}
    lines = [
        schema_line(),
        *(record_line({"id": str(i), "email": email}) for i, email in enumerate(before)),
        state_line({"b": 1}),
        schema_line(schema=renamed),
        *(record_line({"id": str(10 + i), "work_email": email, "title": "Buyer"}) for i, email in enumerate(after)),
        state_line({"b": 2}),
    ]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, "\n".join(lines) + "\n", tmp_path, secrets=[*before, *after])

    assert run.returncode == 0, run.stderr
    assert run.states[-1] == {"b": 2}
    assert "email=work_email" in run.stderr
    assert segment_digests(sandbox, sandbox_token) == digests(before + after)
    creates = [r for r in sandbox_requests(sandbox) if r["method"] == "POST" and r["path"] == "/rest/dmpSegments"]
    assert len(creates) == 1


def test_unknown_stream_fails_naming_stream(sandbox, sandbox_token, tmp_path):
    emails = emails_for("beforeunknown", 2)
    scores_schema = {"type": "object", "properties": {"id": {"type": "string"}, "score": {"type": "integer"}}}
    text = contact_input(emails, state={"b": 3})
    text += schema_line("lead_scores", scores_schema) + "\n" + record_line({"id": "1", "score": 5}, "lead_scores") + "\n"
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, text, tmp_path, secrets=emails)

    assert run.returncode == EXIT_CONFIG, run.stderr
    assert run.states == []
    assert "stream 'lead_scores'" in run.stderr
    assert "`segments`" in run.stderr

    rerun = run_checked(sandbox, config, contact_input(emails, state={"b": 3}), tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert segment_digests(sandbox, sandbox_token) == digests(emails)


def test_records_without_identifier_counted(sandbox, sandbox_token, tmp_path):
    good = emails_for("withid", 2)
    records = [
        {"id": "0", "email": good[0]},
        {"id": "1", "email": None},
        {"id": "2"},
        {"id": "3", "email": ""},
        {"id": "4", "email": good[1]},
    ]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    text = singer_lines("contacts", CONTACT_SCHEMA, records, key_properties=["id"], state={"b": 4})
    run = run_checked(sandbox, config, text, tmp_path, secrets=good)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 4}]
    assert reasons_by_key(run) == {"1": "no_identifier", "2": "no_identifier", "3": "no_identifier"}
    assert "received=5 skipped_without_identifier=3" in summary_line(run.stderr)
    assert segment_digests(sandbox, sandbox_token) == digests(good)


def test_whitespace_and_invalid_emails_skipped(sandbox, sandbox_token, tmp_path):
    good = emails_for("valid", 1)
    invalid = ["not-an-email", "@example.com", "user@", "two@@example.com", "with space@example.com",
               "dangling.dot.@example.com", "user@example..com"]
    blank = ["   ", "\t\n"]
    emails = [*good, *blank, *invalid]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 5}), tmp_path, secrets=[*good, *invalid])

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 5}]
    reasons = reasons_by_key(run)
    assert [reasons[str(i)] for i in (1, 2)] == ["no_identifier", "no_identifier"]
    assert {key: reason for key, reason in reasons.items() if int(key) >= 3} == {
        str(i): "invalid_email" for i in range(3, 3 + len(invalid))
    }
    assert segment_digests(sandbox, sandbox_token) == digests(good)


def test_uppercase_and_sha512_digests_accepted(sandbox, sandbox_token, tmp_path):
    sha256_upper = hashlib.sha256(b"upper.person@example.com").hexdigest().upper()
    sha512 = hashlib.sha512(b"sha512.person@example.com").hexdigest()
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input([sha256_upper, sha512], state={"b": 6}), tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 6}]
    assert "prehashed=2" in summary_line(run.stderr)
    sent = [element["userIds"][0] for post in member_requests(sandbox) for element in post["body"]["elements"]]
    assert sorted(sent, key=lambda user_id: user_id["idType"]) == [
        {"idType": "SHA256_EMAIL", "idValue": sha256_upper.lower()},
        {"idType": "SHA512_EMAIL", "idValue": sha512},
    ]
    assert segment_digests(sandbox, sandbox_token) == {sha256_upper.lower(), sha512}


def test_digest_like_non_hex_rejected(sandbox, sandbox_token, tmp_path):
    not_hex_64 = "z" + hashlib.sha256(b"x").hexdigest()[1:]
    not_hex_128 = hashlib.sha512(b"y").hexdigest()[:-1] + "g"
    sha1 = hashlib.sha1(b"old.person@example.com").hexdigest()  # noqa: S324 - a digest LinkedIn does not take
    good = emails_for("nearhash", 1)
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input([*good, not_hex_64, not_hex_128, sha1], state={"b": 7}), tmp_path,
                      secrets=[*good, not_hex_64, not_hex_128, sha1])

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 7}]
    assert reasons_by_key(run) == {"1": "invalid_identifier", "2": "invalid_identifier", "3": "invalid_identifier"}
    assert segment_digests(sandbox, sandbox_token) == digests(good)


def test_ten_megabyte_values_handled(sandbox, sandbox_token, tmp_path):
    good = emails_for("huge", 2)
    huge_local = "h" * (10 * 1024 * 1024) + "@example.com"
    schema = {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                                               "notes": {"type": "string"}}}
    records = [
        {"id": "0", "email": huge_local},
        {"id": "1", "email": good[0], "notes": "n" * (10 * 1024 * 1024)},
        {"id": "2", "email": good[1]},
    ]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    started = time.monotonic()
    run = run_checked(sandbox, config, singer_lines("contacts", schema, records, key_properties=["id"], state={"b": 8}),
                      tmp_path, secrets=good)
    elapsed = time.monotonic() - started

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 8}]
    assert reasons_by_key(run) == {"0": "invalid_email"}
    assert segment_digests(sandbox, sandbox_token) == digests(good)
    assert len(run.stderr) < 100_000
    assert run.reject_path.stat().st_size < 10_000
    assert "hhhhhhhhhh" not in run.stderr + run.reject_path.read_text()
    assert elapsed < 60


def test_nul_bytes_skipped(sandbox, sandbox_token, tmp_path):
    good = emails_for("nul", 1)
    with_nul = ["nul\x00person@example.com", "trailing.person@example.com\x00", "\x00"]
    lines = contact_input([*good, *with_nul], state={"b": 9}).splitlines()
    # A raw NUL inside a JSON string is invalid JSON, so that line is a malformed-line skip.
    lines.insert(2, '{"type": "RECORD", "stream": "contacts", "record": {"id": "raw", "email": "raw\x00nul@example.com"}}')
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, "\n".join(lines) + "\n", tmp_path,
                      secrets=[*good, "nul\x00person@example.com", "person@example.com", "raw\x00nul@example.com",
                               "nul@example.com"])

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 9}]
    assert [reject["line"] for reject in run.rejects if reject.get("stage") == "input"] == [3]
    reasons = reasons_by_key(run)
    assert reasons["1"] == "invalid_email"
    assert reasons["2"] == "invalid_email"
    assert reasons["3"] in {"invalid_email", "no_identifier"}
    assert segment_digests(sandbox, sandbox_token) == digests(good)


def test_invalid_utf8_line_skipped(sandbox, sandbox_token, tmp_path):
    good = emails_for("utf8", 2)
    lines = [line.encode() for line in contact_input(good, state={"b": 10}).splitlines()]
    broken = b'{"type": "RECORD", "stream": "contacts", "record": {"id": "9", "email": "bad\xff\xfeutf8@example.com"}}'
    lines.insert(2, broken)
    bad_byte = broken.index(b"\xff") + 1
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, b"\n".join(lines) + b"\n", tmp_path, secrets=[*good, "utf8@example.com"])

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 10}]
    input_rejects = [reject for reject in run.rejects if reject.get("stage") == "input"]
    assert [(reject["line"], reject["reason"]) for reject in input_rejects] == [(3, f"invalid UTF-8 at byte {bad_byte}")]
    assert "Skipped input line 3: invalid UTF-8" in run.stderr
    assert segment_digests(sandbox, sandbox_token) == digests(good)


def test_empty_stream_sends_nothing(sandbox, sandbox_token, tmp_path):
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, schema_line() + "\n" + state_line({"b": 11}) + "\n", tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 11}]
    assert member_requests(sandbox) == []
    assert run.rejects == []


def test_state_only_input_passes_state(sandbox, sandbox_token, tmp_path):
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, state_line({"b": 12}) + "\n" + state_line({"b": 13}) + "\n", tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.states[-1] == {"b": 13}
    assert [r for r in sandbox_requests(sandbox) if r["path"].startswith("/rest/dmpSegments")] == []


def test_csv_with_shifted_columns_skips_all(sandbox, sandbox_token, tmp_path):
    with open(SAMPLE_DATA / "customers-100.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # The export put phone numbers under Email and emails under Phone 1.
    shifted = [{**row, "Email": row["Phone 1"], "Phone 1": row["Email"]} for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(shifted)
    records = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in rows[0]}}
    text = singer_lines("crm_export", schema, records, key_properties=["Customer Id"], state={"b": 14})

    secrets = [row["Email"] for row in rows] + [row["Phone 1"] for row in rows] + [row["Phone 2"] for row in rows]
    secrets += [f"{row['First Name']} {row['Last Name']}" for row in rows]
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, text, tmp_path, secrets=secrets)

    assert run.returncode == 0, run.stderr
    assert run.states == [{"b": 14}]
    assert "email=Email" in run.stderr
    assert "Phone 1" not in run.stderr.split("fields from", 1)[1].splitlines()[0]
    reasons = {reject["reason"] for reject in run.rejects}
    assert reasons == {"invalid_email"}
    assert len(run.rejects) == len(rows)
    assert f"received={len(rows)} skipped_without_identifier=0 invalid={len(rows)}" in summary_line(run.stderr, "crm_export")
    assert member_requests(sandbox) == []


def test_shifted_csv_key_column_not_leaked(sandbox, sandbox_token, tmp_path):
    with open(SAMPLE_DATA / "customers-100.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:10]
    # The same shifted export, keyed on the column that now contains the emails.
    shifted = [{**row, "Email": row["Phone 1"], "Phone 1": row["Email"]} for row in rows]
    schema = {"type": "object", "properties": {name: {"type": "string"} for name in rows[0]}}
    text = singer_lines("crm_export", schema, shifted, key_properties=["Phone 1"], state={"b": 15})

    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, text, tmp_path, secrets=[row["Email"] for row in rows])

    assert run.returncode == 0, run.stderr
    assert len(run.rejects) == len(rows)


def test_mirror_sync_keeps_member_of_malformed_line(sandbox, sandbox_token, tmp_path):
    emails = emails_for("mirror", 10)
    config = fault_config(sandbox, sandbox_token, tmp_path, sync_mode="mirror")
    first = run_checked(sandbox, config, contact_input(emails, state={"b": 16}), tmp_path, secrets=emails)
    assert first.returncode == 0, first.stderr

    # The full set again, with the RECORD line of emails[3] cut off in transit.
    lines = contact_input(emails, state={"b": 17}).splitlines()
    lines[4] = lines[4][:-10]
    second = run_checked(sandbox, config, "\n".join(lines) + "\n", tmp_path, secrets=emails)

    # The input was not read completely, so mirror sync cannot know that emails[3] left the source.
    # It removes no member and exits 6, like a removal the guard rejects.
    assert second.returncode == 6, second.stderr
    assert "1 input lines could not be read" in second.stderr
    assert second.states == []
    assert [reject["line"] for reject in second.rejects if reject.get("stage") == "input"] == [5]
    assert "action=REMOVE" not in second.stderr, "mirror sync removed a member whose input line was unreadable"
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
