"""`linkedin-audiences segments list|show|status` against the sandbox, every format and status."""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import typing as t

import pytest
import requests
from click.testing import CliRunner, Result

from target_linkedin_audiences.cli import main
from target_linkedin_audiences.cli.segment_views import SEGMENT_FIELDS
from target_linkedin_audiences.metrics import MIN_SERVABLE_AUDIENCE, STATUS_EXPLANATIONS
from target_linkedin_audiences.sandbox import DEMO_ACCOUNTS, SandboxServer
from target_linkedin_audiences.sandbox.matching import is_match, primary_identifier
from tests.target_helpers import SAMPLE_DATA, run_target, sandbox_members, sandbox_requests, target_config

# The package re-exports the `segments` click group under the module's name.
segments_cli = importlib.import_module("target_linkedin_audiences.cli.segments")

DEFAULT_ACCOUNT = DEMO_ACCOUNTS[0].id
EMPTY_ACCOUNT = DEMO_ACCOUNTS[1].id
VIEWER_ACCOUNT = DEMO_ACCOUNTS[2].id
MATCH_PERCENTAGE = 70
STATUSES = ("BUILDING", "READY", "UPDATING", "ARCHIVED", "EXPIRED", "FAILED", "ERROR")


class Api:
    """The sandbox's LinkedIn API, called the way a client would, to set up segments."""

    def __init__(self, sandbox: SandboxServer, token: dict) -> None:
        self.sandbox = sandbox
        self.headers = {
            "Authorization": f"Bearer {token['access_token']}",
            "LinkedIn-Version": "202608",
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def create_segment(self, name: str, segment_type: str = "USER", account: int = DEFAULT_ACCOUNT) -> str:
        body = {
            "name": name,
            "account": f"urn:li:sponsoredAccount:{account}",
            "type": segment_type,
            "sourcePlatform": "SANDBOX",
            "destinations": [{"destination": "LINKEDIN"}],
        }
        response = requests.post(
            f"{self.sandbox.url}/rest/dmpSegments",
            json=body,
            headers={**self.headers, "X-RestLi-Method": "CREATE"},
            timeout=10,
        )
        response.raise_for_status()
        return response.headers["x-restli-id"]

    def add_users(self, segment_id: str, keys: t.Iterable[str], action: str = "ADD") -> list[dict]:
        """Stream users whose ids are SHA-256 digests of `keys`, and return the elements sent."""
        digests = [hashlib.sha256(key.encode()).hexdigest() for key in keys]
        elements = [{"action": action, "userIds": [{"idType": "SHA256_EMAIL", "idValue": d}]} for d in digests]
        response = requests.post(
            f"{self.sandbox.url}/rest/dmpSegments/{segment_id}/users",
            json={"elements": elements},
            headers={**self.headers, "X-RestLi-Method": "BATCH_CREATE"},
            timeout=30,
        )
        response.raise_for_status()
        return elements

    def add_companies(self, segment_id: str, domains: t.Iterable[str]) -> list[dict]:
        elements = [{"action": "ADD", "companyWebsiteDomain": domain} for domain in domains]
        response = requests.post(
            f"{self.sandbox.url}/rest/dmpSegments/{segment_id}/companies",
            json={"elements": elements},
            headers={**self.headers, "X-RestLi-Method": "BATCH_CREATE"},
            timeout=30,
        )
        response.raise_for_status()
        return elements

    def get_segment(self, segment_id: str) -> dict:
        response = requests.get(f"{self.sandbox.url}/rest/dmpSegments/{segment_id}", headers=self.headers, timeout=10)
        response.raise_for_status()
        return response.json()

    def pin_status(self, segment_id: str, status: str | None) -> None:
        response = requests.post(
            f"{self.sandbox.url}/_sandbox/segments/{segment_id}/status", json={"status": status}, timeout=10
        )
        response.raise_for_status()


@pytest.fixture
def api(sandbox: SandboxServer, sandbox_token: dict) -> Api:
    return Api(sandbox, sandbox_token)


@pytest.fixture
def config_path(sandbox: SandboxServer, sandbox_token: dict, tmp_path) -> str:
    path = tmp_path / "config.json"
    config = {"api_base_url": sandbox.url, "access_token": sandbox_token["access_token"], "ad_account_id": DEFAULT_ACCOUNT}
    path.write_text(json.dumps(config))
    return str(path)


def run_cli(*args: str, columns: int = 80) -> Result:
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(main, list(args), catch_exceptions=False)


def run_json(*args: str) -> dict:
    result = run_cli(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_csv(*args: str) -> list[dict]:
    result = run_cli(*args, "--format", "csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def expected_matches(elements: t.Iterable[dict], kind: str = "USER") -> int:
    """Count the elements the sandbox's documented matching rule matches."""
    return sum(1 for element in elements if is_match(primary_identifier(kind, element), MATCH_PERCENTAGE))


def build_ready_segment(api: Api, sandbox: SandboxServer, name: str, size: int, prefix: str) -> tuple[str, list[dict]]:
    """Create a USER segment, stream `size` users and move the clock past the build delay."""
    segment_id = api.create_segment(name)
    sent = api.add_users(segment_id, (f"{prefix}-{index}" for index in range(size)))
    sandbox.advance_clock(sandbox.settings.build_delay_seconds + 1)
    return segment_id, sent


# Numbers


def test_list_numbers_equal_sandbox_counts(api, sandbox, config_path):
    users_id, users_sent = build_ready_segment(api, sandbox, "Newsletter", 500, "newsletter")
    companies_id = api.create_segment("Target accounts", "COMPANY")
    companies_sent = api.add_companies(companies_id, (f"company{index}.example" for index in range(60)))
    sandbox.advance_clock(sandbox.settings.build_delay_seconds + 1)

    listed = {row["id"]: row for row in run_json("segments", "list", "--config", config_path)["segments"]}

    for segment_id, kind, elements in ((users_id, "USER", users_sent), (companies_id, "COMPANY", companies_sent)):
        raw = api.get_segment(segment_id)
        destination = raw["destinations"][0]
        row = listed[segment_id]
        assert row["input_count"] == raw["inputCount"] == len(elements)
        assert row["matched_count"] == destination["matchedCount"] == expected_matches(elements, kind)
        assert row["audience_size"] == destination["audienceSize"] == expected_matches(elements, kind)
        assert row["match_rate"] == round(destination["matchedCount"] / raw["inputCount"], 4)
        assert row["status"] == destination["status"] == "READY"
        assert row["destination_segment_id"] == destination["destinationSegmentId"]
    assert listed[users_id]["type"] == "USER"
    assert listed[companies_id]["type"] == "COMPANY"
    assert listed[users_id]["source_platform"] == "SANDBOX"


def test_status_after_sample_sync(sandbox, sandbox_token, tmp_path, config_path):
    config = target_config(sandbox, sandbox_token, tmp_path, delete_field="IsDeleted")
    run = run_target(config, (SAMPLE_DATA / "contacts.singer.jsonl").read_text(), tmp_path)
    assert run.returncode == 0, run.stderr
    sandbox.advance_clock(sandbox.settings.build_delay_seconds + 1)

    document = run_json("segments", "status", "--config", config_path)

    assert document["summary"]["segments"] == 1
    row = document["segments"][0]
    members = sandbox_members(sandbox, row["id"])
    expected = sum(1 for member in members if is_match(primary_identifier("USER", member), MATCH_PERCENTAGE))
    assert row["status"] == "READY"
    assert row["audience_size"] == expected
    assert row["input_count"] == len(members) + 5  # the 5 deleted sample contacts were sent as REMOVE
    assert row["ready_to_serve"] is False
    assert row["not_ready_reason"] == f"too small: audience {expected} is under 300"


def test_list_counts_follow_removals(api, sandbox, config_path):
    segment_id, sent = build_ready_segment(api, sandbox, "Customers", 400, "customer")
    removed_keys = [f"customer-{index}" for index in range(100)]
    api.add_users(segment_id, removed_keys, action="REMOVE")
    sandbox.advance_clock(sandbox.settings.updating_seconds + 1)

    row = run_json("segments", "list", "--config", config_path)["segments"][0]

    raw = api.get_segment(segment_id)
    still_in = sent[100:]
    assert row["audience_size"] == raw["destinations"][0]["audienceSize"] == expected_matches(still_in)
    assert row["input_count"] == raw["inputCount"] == 500
    assert row["matched_count"] == raw["destinations"][0]["matchedCount"]


def test_list_csv_and_table_match_json(api, sandbox, config_path):
    segment_id, sent = build_ready_segment(api, sandbox, "Webinar attendees", 450, "webinar")
    matched = expected_matches(sent)

    json_row = run_json("segments", "list", "--config", config_path)["segments"][0]
    csv_rows = run_csv("segments", "list", "--config", config_path)
    table = run_cli("segments", "list", "--config", config_path)

    assert list(csv_rows[0]) == list(SEGMENT_FIELDS)
    assert csv_rows[0]["id"] == segment_id
    assert int(csv_rows[0]["matched_count"]) == matched == json_row["matched_count"]
    assert int(csv_rows[0]["input_count"]) == 450
    assert float(csv_rows[0]["match_rate"]) == json_row["match_rate"]
    assert csv_rows[0]["ready_to_serve"] == "true"
    assert csv_rows[0]["not_ready_reason"] == ""
    assert table.exit_code == 0
    header, line = table.stdout.splitlines()
    assert header.split()[:3] == ["ID", "NAME", "TYPE"]
    assert line.split()[0] == segment_id
    assert f"{matched:,}" in line.split()
    assert f"{matched / 450:.1%}" in line.split()


def test_list_pages_past_first_page(api, sandbox, config_path):
    created = [api.create_segment(f"Segment {index:03d}") for index in range(105)]

    listed = run_json("segments", "list", "--config", config_path)["segments"]

    assert [row["id"] for row in listed] == created
    finder_calls = [r for r in sandbox_requests(sandbox) if r["path"] == "/rest/dmpSegments" and r["method"] == "GET"]
    assert len(finder_calls) == 2
    assert "start=100" in finder_calls[1]["query"]


def test_list_filters_by_type_and_status(api, sandbox, config_path):
    ready_id, _ = build_ready_segment(api, sandbox, "Ready people", 20, "ready")
    building_id = api.create_segment("Building people")
    company_id = api.create_segment("Companies", "COMPANY")

    def listed_ids(*filters: str) -> list[str]:
        rows = run_json("segments", "list", "--config", config_path, *filters)["segments"]
        return [row["id"] for row in rows]

    assert listed_ids("--type", "USER") == [ready_id, building_id]
    assert listed_ids("--type", "company") == [company_id]
    assert listed_ids("--status", "READY") == [ready_id]
    assert listed_ids("--status", "building", "--status", "READY") == [ready_id, building_id, company_id]
    assert listed_ids("--type", "COMPANY", "--status", "READY") == []


def test_list_rejects_unknown_filter_values(config_path):
    bad_status = run_cli("segments", "list", "--config", config_path, "--status", "DONE")
    bad_type = run_cli("segments", "list", "--config", config_path, "--type", "PEOPLE")

    assert bad_status.exit_code == 2
    assert "'DONE' is not one of" in bad_status.stderr
    assert bad_type.exit_code == 2


# Statuses and readiness


def test_every_status_readiness_and_reason(api, sandbox, config_path):
    segment_ids = {}
    for status in STATUSES:
        segment_id, _ = build_ready_segment(api, sandbox, f"{status} segment", 600, status)
        api.pin_status(segment_id, status)
        segment_ids[status] = segment_id

    rows = {row["status"]: row for row in run_json("segments", "status", "--config", config_path)["segments"]}

    assert sorted(rows) == sorted(STATUSES)
    for status in STATUSES:
        row = rows[status]
        assert row["id"] == segment_ids[status]
        assert row["ready_to_serve"] is (status in ("READY", "UPDATING")), status
        if row["ready_to_serve"]:
            assert row["not_ready_reason"] is None
            assert row["audience_size"] >= MIN_SERVABLE_AUDIENCE
    assert rows["BUILDING"]["not_ready_reason"] == "still building (can take up to 48 hours)"
    assert rows["BUILDING"]["matched_count"] is None
    assert rows["EXPIRED"]["not_ready_reason"] == "status EXPIRED cannot serve"
    assert rows["FAILED"]["not_ready_reason"] == "status FAILED cannot serve"


@pytest.mark.parametrize("status", STATUSES)
def test_show_explains_each_status(api, sandbox, config_path, status):
    segment_id, _ = build_ready_segment(api, sandbox, "Explained", 600, "explained")
    api.pin_status(segment_id, status)

    output = run_cli("segments", "show", segment_id, "--config", config_path)
    detail = run_json("segments", "show", segment_id, "--config", config_path)["segment"]

    assert output.exit_code == 0
    assert f"Status              {status}" in output.stdout
    assert detail["status_explanation"] == STATUS_EXPLANATIONS[status]
    # The explanation is wrapped, so compare its words.
    assert " ".join(STATUS_EXPLANATIONS[status].split()[:6]) in " ".join(output.stdout.split())


def test_status_flow_building_ready_updating(api, sandbox, config_path):
    segment_id = api.create_segment("Flow")

    def status_row() -> dict:
        return run_json("segments", "status", "--config", config_path)["segments"][0]

    assert status_row()["status"] == "BUILDING"
    api.add_users(segment_id, (f"flow-{index}" for index in range(500)))
    assert status_row()["status"] == "BUILDING"
    sandbox.advance_clock(sandbox.settings.build_delay_seconds + 1)
    ready = status_row()
    api.add_users(segment_id, ["flow-extra"])
    updating = status_row()

    assert ready["status"] == "READY"
    assert ready["ready_to_serve"] is True
    assert updating["status"] == "UPDATING"
    assert updating["ready_to_serve"] is True
    assert updating["input_count"] == 501


def test_small_ready_segment_not_servable(api, sandbox, config_path):
    segment_id, sent = build_ready_segment(api, sandbox, "Small list", 50, "small")
    audience = expected_matches(sent)

    row = run_json("segments", "list", "--config", config_path)["segments"][0]
    output = run_cli("segments", "show", segment_id, "--config", config_path)

    assert row["status"] == "READY"
    assert row["ready_to_serve"] is False
    assert row["not_ready_reason"] == f"too small: audience {audience} is under {MIN_SERVABLE_AUDIENCE}"
    assert f"Ready to serve      no, too small: audience {audience} is under 300" in output.stdout
    assert "at least 300 matched members" in " ".join(output.stdout.split())


def test_status_table_lists_reasons(api, sandbox, config_path):
    ready_id, _ = build_ready_segment(api, sandbox, "Big list", 600, "big")
    failed_id, _ = build_ready_segment(api, sandbox, "Broken list", 600, "broken")
    api.pin_status(failed_id, "FAILED")
    building_id = api.create_segment("New list")

    result = run_cli("segments", "status", "--config", config_path)

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Segments of urn:li:sponsoredAccount:{DEFAULT_ACCOUNT} at ")
    assert "3 segments (1 BUILDING, 1 FAILED, 1 READY); 1 ready to serve. Not ready:" in lines
    assert f"  {failed_id} Broken list: status FAILED cannot serve" in lines
    assert f"  {building_id} New list: still building (can take up to 48 hours)" in lines
    assert not any(line.startswith(f"  {ready_id} ") for line in lines)


# show


def test_show_json_has_destinations(api, sandbox, config_path):
    segment_id, sent = build_ready_segment(api, sandbox, "Shown", 320, "output")
    raw = api.get_segment(segment_id)

    detail = run_json("segments", "show", segment_id, "--config", config_path)["segment"]
    csv_rows = run_csv("segments", "show", segment_id, "--config", config_path)

    assert detail["id"] == segment_id
    assert detail["account"] == f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}"
    assert detail["input_count"] == 320
    assert detail["matched_count"] == expected_matches(sent)
    assert len(detail["destinations"]) == 1
    destination = detail["destinations"][0]
    assert destination["destination"] == "LINKEDIN"
    assert destination["destination_segment_id"] == raw["destinations"][0]["destinationSegmentId"]
    assert destination["audience_size"] == raw["destinations"][0]["audienceSize"]
    assert destination["status"] == "READY"
    assert csv_rows[0]["id"] == segment_id
    assert json.loads(csv_rows[0]["destinations"])[0]["destination"] == "LINKEDIN"


def test_show_table_fields(api, sandbox, config_path):
    segment_id, _ = build_ready_segment(api, sandbox, "Shown table", 400, "table")
    raw = api.get_segment(segment_id)

    result = run_cli("segments", "show", segment_id, "--config", config_path)

    assert result.exit_code == 0
    assert f"Segment             {segment_id}" in result.stdout
    assert "Destination LINKEDIN" in result.stdout
    assert f"  Ad segment        {raw['destinations'][0]['destinationSegmentId']}" in result.stdout
    assert "Match rate          " in result.stdout
    assert "(matched over input, last 7 days)" in result.stdout


def test_show_unknown_segment_exits_4(config_path):
    result = run_cli("segments", "show", "987654", "--config", config_path)

    assert result.exit_code == 4
    assert "DMP segment 987654 not found" in result.stderr
    assert "segments list" in result.stderr


@pytest.mark.parametrize("segment_id", ["abc", "12x", "", "0x1F", "urn:li:dmpSegment:1"])
def test_show_rejects_non_numeric_id(config_path, segment_id):
    result = run_cli("segments", "show", segment_id, "--config", config_path)

    assert result.exit_code == 2
    assert "a segment id is a number" in result.stderr


# Accounts: default, forms, VIEWER, empty, no access


@pytest.mark.parametrize(
    "account_form",
    [str(DEFAULT_ACCOUNT), f'"{DEFAULT_ACCOUNT}"', f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}", f" {DEFAULT_ACCOUNT} "],
)
def test_account_option_forms(api, sandbox, config_path, account_form):
    segment_id = api.create_segment("Any")

    document = run_json("segments", "list", "--config", config_path, "--account", account_form)

    assert document["account"] == f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}"
    assert [row["id"] for row in document["segments"]] == [segment_id]


def test_account_defaults_to_config(api, sandbox, config_path):
    segment_id = api.create_segment("From config")

    document = run_json("segments", "list", "--config", config_path)

    assert document["account"] == f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}"
    assert [row["id"] for row in document["segments"]] == [segment_id]


def test_missing_account_exits_2(sandbox, sandbox_token, tmp_path):
    path = tmp_path / "no-account.json"
    path.write_text(json.dumps({"api_base_url": sandbox.url, "access_token": sandbox_token["access_token"]}))

    result = run_cli("segments", "list", "--config", str(path))

    assert result.exit_code == 2
    assert "pass --account ID or set ad_account_id" in result.stderr


@pytest.mark.parametrize("account_form", ["abc", "urn:li:sponsoredAccount:", "urn:li:organization:5", "12.5"])
def test_invalid_account_exits_2(config_path, account_form):
    result = run_cli("segments", "list", "--config", config_path, "--account", account_form)

    assert result.exit_code == 2
    assert "Invalid value for '--account'" in result.stderr


def test_viewer_account_lists_read_only(api, config_path):
    document = run_json("segments", "list", "--config", config_path, "--account", str(VIEWER_ACCOUNT))
    table = run_cli("segments", "list", "--config", config_path, "--account", str(VIEWER_ACCOUNT))

    assert document == {"account": f"urn:li:sponsoredAccount:{VIEWER_ACCOUNT}", "segments": []}
    assert table.exit_code == 0
    assert table.stdout.strip() == f"No segments in urn:li:sponsoredAccount:{VIEWER_ACCOUNT}."


@pytest.mark.parametrize("command", ["list", "status"])
def test_empty_account_every_format(api, config_path, command):
    api.create_segment("Elsewhere")
    base = ("segments", command, "--config", config_path, "--account", str(EMPTY_ACCOUNT))

    document = run_json(*base)
    csv_result = run_cli(*base, "--format", "csv")
    table = run_cli(*base)

    assert document["segments"] == []
    assert csv_result.exit_code == 0
    assert len(csv_result.stdout.splitlines()) == 1
    assert table.exit_code == 0
    assert "No segments" in table.stdout
    if command == "status":
        assert document["summary"] == {"segments": 0, "ready_to_serve": 0, "by_status": {}}


def test_account_without_role_exits_3(config_path):
    result = run_cli("segments", "list", "--config", config_path, "--account", "777")

    assert result.exit_code == 3
    assert "HTTP 403" in result.stderr
    assert "linkedin-audiences accounts list" in result.stderr


# status --watch


def test_watch_json_lines_until_interrupted(api, sandbox, config_path, monkeypatch):
    segment_id = api.create_segment("Watched")
    api.add_users(segment_id, (f"watched-{index}" for index in range(600)))
    waits = []

    def fake_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise KeyboardInterrupt
        sandbox.advance_clock(sandbox.settings.build_delay_seconds + 1)

    monkeypatch.setattr(segments_cli, "_wait", fake_wait)
    result = run_cli("segments", "status", "--config", config_path, "--watch", "30", "--format", "json")

    assert result.exit_code == 0
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == 3
    assert waits == [30, 30, 30]
    assert [doc["segments"][0]["status"] for doc in documents] == ["BUILDING", "READY", "READY"]
    assert documents[1]["summary"]["ready_to_serve"] == 1


def test_watch_csv_header_once(api, sandbox, config_path, monkeypatch):
    api.create_segment("Watched csv")
    calls = []

    def fake_wait(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(segments_cli, "_wait", fake_wait)
    result = run_cli("segments", "status", "--config", config_path, "--watch", "5", "--format", "csv")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("checked_at,id,name,")
    assert len(lines) == 3
    assert sum(1 for line in lines if line.startswith("checked_at")) == 1


def test_watch_table_repeats_heading(api, sandbox, config_path, monkeypatch):
    api.create_segment("Watched table")
    calls = []

    def fake_wait(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(segments_cli, "_wait", fake_wait)
    result = run_cli("segments", "status", "--config", config_path, "--watch", "2.5")

    assert result.exit_code == 0
    headings = [line for line in result.stdout.splitlines() if line.startswith("Segments of ")]
    assert len(headings) == 2
    assert headings[0].endswith("every 2.5 s (Ctrl-C stops)")


def test_watch_survives_server_error(api, sandbox, config_path, monkeypatch):
    api.create_segment("Watched through errors")
    calls = []

    def fake_wait(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 2:
            raise KeyboardInterrupt

    fault = {"method": "GET", "path": "/rest/dmpSegments", "status": 503, "count": 1}
    config = json.loads(open(config_path).read())
    config["max_retry_attempts"] = 1
    with open(config_path, "w") as handle:
        json.dump(config, handle)
    requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
    monkeypatch.setattr(segments_cli, "_wait", fake_wait)

    result = run_cli("segments", "status", "--config", config_path, "--watch", "5", "--format", "json")

    assert result.exit_code == 0
    assert "HTTP 503" in result.stderr
    assert "trying again in 5 s" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_watch_rejects_short_interval(config_path):
    result = run_cli("segments", "status", "--config", config_path, "--watch", "0.2")

    assert result.exit_code == 2


# Layout and privacy


def test_tables_fit_80_columns(api, sandbox, config_path):
    long_name = "Newsletter subscribers in every region, weekly digest, opted in through the website"
    segment_id, _ = build_ready_segment(api, sandbox, long_name, 350, "long")
    api.create_segment("Companies with a long name for the table test", "COMPANY")

    outputs = [
        run_cli("segments", "list", "--config", config_path).stdout,
        run_cli("segments", "status", "--config", config_path).stdout,
        run_cli("segments", "show", segment_id, "--config", config_path).stdout,
    ]

    for output in outputs:
        for line in output.splitlines():
            assert len(line) <= 80, line


def test_wide_terminal_shows_every_column(api, sandbox, config_path):
    build_ready_segment(api, sandbox, "Wide audience for the column test", 10, "wide")

    narrow = run_cli("segments", "list", "--config", config_path).stdout.splitlines()[0]
    wide = run_cli("segments", "list", "--config", config_path, columns=200).stdout.splitlines()[0]

    assert "SOURCE" not in narrow
    assert "MODIFIED (UTC)" not in narrow
    assert wide.split() == ["ID", "NAME", "TYPE", "SOURCE", "STATUS", "INPUT", "MATCHED", "RATE", "AUDIENCE",
                            "READY", "MODIFIED", "(UTC)"]


def test_output_never_contains_token(api, sandbox, sandbox_token, config_path):
    segment_id, _ = build_ready_segment(api, sandbox, "Private", 30, "private")

    results = [
        run_cli("segments", command, *extra, "--config", config_path, "--format", output_format)
        for command, extra in (("list", ()), ("status", ()), ("show", (segment_id,)))
        for output_format in ("table", "json", "csv")
    ]
    results.append(run_cli("segments", "list", "--config", config_path, "--account", "777"))

    for result in results:
        assert sandbox_token["access_token"] not in result.output
        assert sandbox_token["access_token"] not in result.stderr


def test_embedded_sandbox_lists_segments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = run_cli("segments", "list", "--sandbox", "--sandbox-db", str(tmp_path / "embedded.db"), "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"account": f"urn:li:sponsoredAccount:{DEFAULT_ACCOUNT}", "segments": []}
