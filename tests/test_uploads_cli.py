"""`linkedin-audiences segments upload|replace` against the sandbox: members, files and errors."""

from __future__ import annotations

import csv
import json
import logging
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from target_linkedin_audiences import uploads
from target_linkedin_audiences.cli import main
from target_linkedin_audiences.errors import EXIT_API, EXIT_INPUT
from target_linkedin_audiences.members import normalize_domain
from target_linkedin_audiences.sandbox import DEMO_ACCOUNTS, SandboxServer
from tests.target_helpers import (
    SAMPLE_DATA,
    add_fault,
    sample_customers,
    sample_organizations,
    sandbox_members,
    sandbox_requests,
    segments_of_account,
    sha256_email,
)

DEFAULT_ACCOUNT = DEMO_ACCOUNTS[0].id
OTHER_ACCOUNT = DEMO_ACCOUNTS[1].id
CUSTOMER_HEADER = list(sample_customers()[0])


@pytest.fixture(autouse=True)
def no_attach_delay(monkeypatch):
    # The session sandbox serves new segments at once, so the 5-second wait is not needed.
    monkeypatch.setattr(uploads, "ATTACH_DELAY_SECONDS", 0)


@pytest.fixture
def config_path(sandbox: SandboxServer, sandbox_token: dict, tmp_path) -> str:
    path = tmp_path / "config.json"
    config = {"api_base_url": sandbox.url, "access_token": sandbox_token["access_token"], "ad_account_id": DEFAULT_ACCOUNT}
    path.write_text(json.dumps(config))
    return str(path)


@pytest.fixture
def uploaded_files(monkeypatch) -> list[dict]:
    """Record each file ListUploader.upload sends: its bytes and its permission bits."""
    sent: list[dict] = []
    original = uploads.ListUploader.upload

    def spy(self, path: Path) -> str:
        sent.append({"path": path, "data": path.read_bytes(), "mode": stat.S_IMODE(os.stat(path).st_mode)})
        return original(self, path)

    monkeypatch.setattr(uploads.ListUploader, "upload", spy)
    return sent


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def customers_csv(path: Path, extra_emails: list[str], base: list[dict] | None = None) -> list[str]:
    """Write customers-100.csv plus one row per extra email; return every email written."""
    rows = sample_customers() if base is None else base
    template = sample_customers()[0]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CUSTOMER_HEADER)
        writer.writeheader()
        writer.writerows(rows)
        for number, email in enumerate(extra_emails):
            writer.writerow({**template, "Index": str(1000 + number), "Email": email})
    return [row["Email"] for row in rows] + extra_emails


def fake_emails(count: int, prefix: str = "Padding.User") -> list[str]:
    return [f" {prefix}{number}@Example.ORG" for number in range(count)]


def member_hashes(sandbox: SandboxServer, segment_id: str) -> set[str]:
    members = sandbox_members(sandbox, segment_id)
    return {user_id["idValue"] for member in members for user_id in member["userIds"]}


def upload_json(config_path: str, csv_path: Path, *extra: str, kind: str = "USER", name: str = "CRM list") -> dict:
    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", name, "--type", kind,
        "--csv", str(csv_path), "--format", "json", *extra,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# Upload and replace


def test_upload_users_members_are_hashed_emails(sandbox, sandbox_token, config_path, tmp_path, uploaded_files):
    emails = customers_csv(tmp_path / "customers.csv", fake_emails(250))

    body = upload_json(config_path, tmp_path / "customers.csv")

    assert body["segment_type"] == "USER_LIST_UPLOAD"
    assert body["account"] == f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}"
    assert body["rows_read"] == 350
    assert body["rows_written"] == 350
    assert body["rows_skipped"] == 0
    assert body["emails"] == {"hashed_here": 350, "already_hashed": 0}
    assert member_hashes(sandbox, body["segment_id"]) == {sha256_email(email) for email in emails}
    [segment] = segments_of_account(sandbox, sandbox_token, DEFAULT_ACCOUNT)
    assert segment["sourcePlatform"] == "LIST_UPLOAD"
    assert segment["name"] == "CRM list"


def test_uploaded_file_has_no_plaintext_email(sandbox, config_path, tmp_path, uploaded_files):
    emails = customers_csv(tmp_path / "customers.csv", fake_emails(250))

    upload_json(config_path, tmp_path / "customers.csv")

    [sent] = uploaded_files
    text = sent["data"].decode("utf-8")
    assert "@" not in text
    assert not any(email.strip().lower() in text.lower() for email in emails)
    assert text.splitlines()[0] == "email,firstname,lastname,employeecompany,country"
    assert sent["mode"] == 0o600
    assert not sent["path"].exists()


def test_upload_then_replace_members_are_new_file(sandbox, config_path, tmp_path):
    customers_csv(tmp_path / "first.csv", fake_emails(250))
    second = customers_csv(tmp_path / "second.csv", fake_emails(320, "Replacement"), base=[])
    segment_id = upload_json(config_path, tmp_path / "first.csv")["segment_id"]

    result = run_cli("segments", "replace", segment_id, "--config", config_path, "--csv", str(tmp_path / "second.csv"))

    assert result.exit_code == 0, result.output
    assert f"Replaced the file of segment {segment_id} (USER_LIST_UPLOAD)" in result.stdout
    assert "Rows written     320" in result.stdout
    assert member_hashes(sandbox, segment_id) == {sha256_email(email) for email in second}


def test_upload_companies_from_organizations_sample(sandbox, config_path):
    organizations = sample_organizations()

    body = upload_json(config_path, SAMPLE_DATA / "organizations-1000.csv", kind="COMPANY", name="Accounts")

    assert body["segment_type"] == "COMPANY_LIST_UPLOAD"
    assert body["rows_written"] == 1000
    assert body["columns"] == {
        "companyname": "Name", "companywebsite": "Website", "industry": "Industry", "companycountry": "Country",
    }
    members = sandbox_members(sandbox, body["segment_id"])
    expected = [(row["Name"], normalize_domain(row["Website"])) for row in organizations]
    assert [(member["companyName"], member["companyWebsiteDomain"]) for member in members] == expected
    assert any("," in member["companyName"] for member in members)


def test_replace_company_list(sandbox, config_path, tmp_path):
    segment_id = upload_json(config_path, SAMPLE_DATA / "organizations-1000.csv", kind="COMPANY")["segment_id"]
    organizations = sample_organizations()[:400]
    path = tmp_path / "subset.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["Company", "Company Domain"])
        writer.writeheader()
        writer.writerows({"Company": row["Name"], "Company Domain": row["Website"]} for row in organizations)

    result = run_cli("segments", "replace", segment_id, "--config", config_path, "--csv", str(path), "--format", "json")

    assert result.exit_code == 0, result.output
    members = sandbox_members(sandbox, segment_id)
    expected = [(row["Name"], normalize_domain(row["Website"])) for row in organizations]
    assert [(member["companyName"], member["companyWebsiteDomain"]) for member in members] == expected


def test_upload_to_account_option(sandbox, sandbox_token, config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))

    body = upload_json(config_path, tmp_path / "customers.csv", "--account", str(OTHER_ACCOUNT))

    assert body["account"] == f"urn:li:sponsoredAccount:{OTHER_ACCOUNT}"
    assert [s["id"] for s in segments_of_account(sandbox, sandbox_token, OTHER_ACCOUNT)] == [int(body["segment_id"])]


def test_upload_text_output(config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250) + ["not-an-email", fake_emails(1)[0]])

    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", "CRM", "--type", "user", "--csv", str(tmp_path / "customers.csv"),
    )

    assert result.exit_code == 0, result.output
    assert "Created list-upload segment" in result.stdout
    assert "Rows read        352" in result.stdout
    assert "Rows written     350" in result.stdout
    assert "Rows skipped     2" in result.stdout
    assert "invalid_email: 1 (line 352): invalid email in column 'Email'" in result.stdout
    assert "duplicate: 1 (line 353): the same member as an earlier row" in result.stdout
    assert "email <- 'Email'" in result.stdout
    assert "not-an-email" not in result.output


def test_attach_retries_not_found(sandbox, config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/listUploads", status=404, count=1)

    body = upload_json(config_path, tmp_path / "customers.csv")

    assert len(member_hashes(sandbox, body["segment_id"])) == 350


def test_waits_before_attaching_to_new_segment(monkeypatch, sandbox, config_path, tmp_path):
    waits: list[float] = []
    monkeypatch.setattr(uploads, "ATTACH_DELAY_SECONDS", 5.0)
    monkeypatch.setattr("target_linkedin_audiences.segments.time.sleep", waits.append)
    customers_csv(tmp_path / "customers.csv", fake_emails(250))

    upload_json(config_path, tmp_path / "customers.csv")

    [wait] = waits
    assert 4.0 < wait <= 5.0


# Dry runs


def test_dry_run_writes_file_and_sends_nothing(sandbox, config_path, tmp_path):
    emails = customers_csv(tmp_path / "customers.csv", fake_emails(250))
    output = tmp_path / "out.csv"

    body = upload_json(config_path, tmp_path / "customers.csv", "--dry-run", "--output", str(output))

    assert body["dry_run_file"] == str(output)
    assert body["segment_id"] is None
    assert sandbox_requests(sandbox) == []
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert [row["email"] for row in rows] == [sha256_email(email) for email in emails]


def test_dry_run_default_output_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    customers_csv(tmp_path / "customers.csv", fake_emails(250))

    result = run_cli("segments", "upload", "--name", "X", "--type", "USER", "--csv", "customers.csv", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Dry run: wrote 350 rows to customers.linkedin.csv; nothing was uploaded." in result.stdout
    assert (tmp_path / "customers.linkedin.csv").exists()


def test_dry_run_keeps_existing_output(tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))
    output = tmp_path / "out.csv"
    output.write_text("keep me")

    result = run_cli(
        "segments", "upload", "--name", "X", "--type", "USER", "--csv", str(tmp_path / "customers.csv"),
        "--dry-run", "--output", str(output),
    )

    assert result.exit_code == EXIT_INPUT
    assert "exists; remove it or pass another --output" in result.output
    assert output.read_text() == "keep me"


def test_dry_run_too_few_rows_keeps_file(tmp_path):
    output = tmp_path / "out.csv"

    result = run_cli(
        "segments", "upload", "--name", "X", "--type", "USER", "--csv", str(SAMPLE_DATA / "customers-100.csv"),
        "--dry-run", "--output", str(output),
    )

    assert result.exit_code == EXIT_INPUT
    assert "only 100 rows were written and LinkedIn needs at least 300" in result.stderr
    assert len(output.read_text().splitlines()) == 101


def test_dry_run_replace_reads_segment_only(sandbox, config_path, tmp_path):
    segment_id = upload_json(config_path, SAMPLE_DATA / "organizations-1000.csv", kind="COMPANY")["segment_id"]
    before = len(sandbox_requests(sandbox))

    result = run_cli(
        "segments", "replace", segment_id, "--config", config_path, "--csv", str(SAMPLE_DATA / "customers-100.csv"),
        "--dry-run", "--output", str(tmp_path / "out.csv"), "--format", "json",
    )

    assert result.exit_code == EXIT_INPUT  # 100 customers give fewer than 300 companies
    new_requests = sandbox_requests(sandbox)[before:]
    assert [(r["method"], r["path"]) for r in new_requests] == [("GET", f"/rest/dmpSegments/{segment_id}")]
    assert json.loads(result.stdout)["columns"]["companyname"] == "Company"


def test_output_without_dry_run_is_rejected(config_path, tmp_path):
    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", "X", "--type", "USER",
        "--csv", str(SAMPLE_DATA / "customers-100.csv"), "--output", str(tmp_path / "out.csv"),
    )

    assert result.exit_code == 2
    assert "--output is only used with --dry-run" in result.output


# Errors


def test_too_few_rows_uploads_nothing(sandbox, config_path, uploaded_files):
    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", "X", "--type", "USER",
        "--csv", str(SAMPLE_DATA / "customers-100.csv"),
    )

    assert result.exit_code == EXIT_INPUT
    assert "Rows written     100" in result.stderr
    assert "nothing was uploaded, so add rows to the file" in result.stderr
    assert uploaded_files == []
    assert sandbox_requests(sandbox) == []


def test_bad_file_uploads_nothing(sandbox, config_path, tmp_path):
    path = tmp_path / "semicolons.csv"
    path.write_text("Email;Company\nada@example.com;Acme\n")

    result = run_cli("segments", "upload", "--config", config_path, "--name", "X", "--type", "USER", "--csv", str(path))

    assert result.exit_code == EXIT_INPUT
    assert "Error: line 1: the header has one column with delimiter ','" in result.stderr
    assert "ada@example.com" not in result.output
    assert sandbox_requests(sandbox) == []


def test_failed_upload_creates_no_segment(sandbox, sandbox_token, config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))
    add_fault(sandbox, method="POST", path="/media/upload", status=403, count=1)

    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", "X", "--type", "USER", "--csv", str(tmp_path / "customers.csv"),
    )

    assert result.exit_code != 0
    assert "HTTP 403" in result.stderr
    assert segments_of_account(sandbox, sandbox_token, DEFAULT_ACCOUNT) == []


def test_server_error_on_upload_is_retried(sandbox, config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))
    add_fault(sandbox, method="POST", path="/media/upload", status=500, count=1)

    body = upload_json(config_path, tmp_path / "customers.csv")

    assert len(member_hashes(sandbox, body["segment_id"])) == 350


def test_replace_rejects_streaming_segment(sandbox, config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))
    streaming_id = create_streaming_segment(sandbox, config_path)

    result = run_cli("segments", "replace", streaming_id, "--config", config_path, "--csv", str(tmp_path / "customers.csv"))

    assert result.exit_code == EXIT_INPUT
    assert f"DMP segment {streaming_id} has type USER" in result.stderr
    assert "replace works on USER_LIST_UPLOAD and COMPANY_LIST_UPLOAD segments" in result.stderr


def test_replace_unknown_segment(config_path):
    result = run_cli("segments", "replace", "999", "--config", config_path, "--csv", str(SAMPLE_DATA / "customers-100.csv"))

    assert result.exit_code == EXIT_API
    assert "DMP segment 999 not found" in result.stderr


def test_replace_rejects_non_numeric_id(config_path):
    result = run_cli("segments", "replace", "abc", "--config", config_path, "--csv", str(SAMPLE_DATA / "customers-100.csv"))

    assert result.exit_code == 2
    assert "a segment id is a number" in result.output


def test_upload_needs_an_account(sandbox, sandbox_token, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"api_base_url": sandbox.url, "access_token": sandbox_token["access_token"]}))

    result = run_cli(
        "segments", "upload", "--config", str(path), "--name", "X", "--type", "USER",
        "--csv", str(SAMPLE_DATA / "customers-100.csv"),
    )

    assert result.exit_code == 2
    assert "no ad account given" in result.stderr


def test_empty_name_is_rejected(tmp_path):
    result = run_cli(
        "segments", "upload", "--name", "  ", "--type", "USER", "--csv", str(SAMPLE_DATA / "customers-100.csv"), "--dry-run",
    )

    assert result.exit_code == 2
    assert "the segment name is empty" in result.output


@pytest.mark.parametrize("value", ["ab", "x", '"'])
def test_bad_delimiter_is_rejected(value):
    result = run_cli(
        "segments", "upload", "--name", "X", "--type", "USER", "--csv", str(SAMPLE_DATA / "customers-100.csv"),
        "--dry-run", "--delimiter", value,
    )

    assert result.exit_code == 2
    assert "expected one punctuation character or tab" in result.output


def test_no_email_reaches_logs(sandbox, config_path, tmp_path, caplog):
    emails = customers_csv(tmp_path / "customers.csv", fake_emails(250) + ["broken@", "x@y"])
    caplog.set_level(logging.DEBUG)

    result = run_cli(
        "-v", "segments", "upload", "--config", config_path, "--name", "X", "--type", "USER",
        "--csv", str(tmp_path / "customers.csv"),
    )

    assert result.exit_code == 0, result.output
    logged = "\n".join(record.getMessage() for record in caplog.records) + result.output
    assert caplog.records
    assert not any(email.strip().lower() in logged.lower() for email in emails)
    assert "broken@" not in logged


@pytest.mark.slow
def test_embedded_sandbox_upload(tmp_path, monkeypatch):
    # The embedded sandbox returns 404 for 5 seconds after creating a segment, as LinkedIn does,
    # so this runs the real wait.
    monkeypatch.setattr(uploads, "ATTACH_DELAY_SECONDS", uploads.CREATE_TO_WRITE_DELAY_SECONDS)
    monkeypatch.chdir(tmp_path)
    emails = customers_csv(tmp_path / "customers.csv", fake_emails(250))

    result = run_cli(
        "segments", "upload", "--sandbox", "--sandbox-db", str(tmp_path / "sandbox.db"), "--name", "Embedded",
        "--type", "USER", "--csv", str(tmp_path / "customers.csv"), "--format", "json",
    )

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["account"] == f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}"
    assert body["segment_type"] == "USER_LIST_UPLOAD"
    assert body["rows_written"] == len(emails)


def create_streaming_segment(sandbox: SandboxServer, config_path: str) -> str:
    import requests

    token = json.loads(Path(config_path).read_text())["access_token"]
    response = requests.post(
        f"{sandbox.url}/rest/dmpSegments",
        json={
            "name": "Streaming",
            "account": f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}",
            "type": "USER",
            "sourcePlatform": "SANDBOX",
            "destinations": [{"destination": "LINKEDIN"}],
        },
        headers={
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": "202608",
            "X-Restli-Protocol-Version": "2.0.0",
            "X-RestLi-Method": "CREATE",
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.headers["x-restli-id"]


def test_progress_bar_on_terminal(monkeypatch, tmp_path):
    monkeypatch.setattr("target_linkedin_audiences.cli.uploads._stderr_is_terminal", lambda: True)
    customers_csv(tmp_path / "customers.csv", fake_emails(250))

    result = run_cli(
        "segments", "upload", "--name", "X", "--type", "USER", "--csv", str(tmp_path / "customers.csv"),
        "--dry-run", "--output", str(tmp_path / "out.csv"),
    )

    assert result.exit_code == 0, result.output
    assert "Reading customers.csv" in result.stderr
    assert "Reading" not in result.stdout


def test_no_progress_bar_for_json(monkeypatch, tmp_path):
    monkeypatch.setattr("target_linkedin_audiences.cli.uploads._stderr_is_terminal", lambda: True)
    customers_csv(tmp_path / "customers.csv", fake_emails(250))

    result = run_cli(
        "segments", "upload", "--name", "X", "--type", "USER", "--csv", str(tmp_path / "customers.csv"),
        "--dry-run", "--output", str(tmp_path / "out.csv"), "--format", "json",
    )

    assert result.exit_code == 0, result.output
    assert "Reading" not in result.stderr
    assert json.loads(result.stdout)["rows_written"] == 350


def test_failed_attach_names_replace_command(sandbox, sandbox_token, config_path, tmp_path):
    path = tmp_path / "customers.csv"
    customers_csv(path, fake_emails(250))
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/listUploads", status=403, count=1)

    result = run_cli("segments", "upload", "--config", config_path, "--name", "X", "--type", "USER", "--csv", str(path))

    [segment] = segments_of_account(sandbox, sandbox_token, DEFAULT_ACCOUNT)
    assert result.exit_code != 0
    assert f"segment {segment['id']} was created without its file" in result.stderr
    assert f"linkedin-audiences segments replace {segment['id']} --csv {path}" in result.stderr


def test_csv_format_output(config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))

    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", "X", "--type", "USER",
        "--csv", str(tmp_path / "customers.csv"), "--format", "csv",
    )

    assert result.exit_code == 0, result.output
    [row] = list(csv.DictReader(result.stdout.splitlines()))
    assert row["segment_type"] == "USER_LIST_UPLOAD"
    assert row["rows_written"] == "350"
    assert row["created"] == "true"
    assert row["media_urn"].startswith("urn:li:digitalmediaAsset:")


def test_viewer_account_names_accounts_command(sandbox, config_path, tmp_path):
    customers_csv(tmp_path / "customers.csv", fake_emails(250))
    viewer = next(account for account in DEMO_ACCOUNTS if account.role == "VIEWER")

    result = run_cli(
        "segments", "upload", "--config", config_path, "--name", "X", "--type", "USER",
        "--csv", str(tmp_path / "customers.csv"), "--account", str(viewer.id),
    )

    assert result.exit_code == 3
    assert "HTTP 403" in result.stderr
    assert "run `linkedin-audiences accounts list`" in result.stderr
