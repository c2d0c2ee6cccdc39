"""How the request log keeps BATCH_CREATE bodies, and the database settings behind large batches."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing

from sandbox_helpers import Api, sha256, user

from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings
from target_linkedin_audiences.sandbox.store import CACHE_KIBIBYTES, WAL_AUTOCHECKPOINT_PAGES

EMAIL = "ana.lopez@example.com"


def logged_body(api: Api) -> dict:
    entries = [entry for entry in api.control("GET", "requests").json()["requests"] if entry["path"].endswith("/users")]
    assert len(entries) == 1
    return entries[0]["body"]


def test_valid_elements_logged_without_names(api: Api):
    segment_id = api.create_segment()
    elements = [
        user("a@example.com", firstName="Ada", lastName="Lovelace", title="Engineer", company="Acme", country="GB"),
        {"userIds": [{"idValue": sha256("b@example.com"), "idType": "SHA256_EMAIL"}], "action": "REMOVE"},
    ]

    assert api.stream(segment_id, elements).json() == {"elements": [{"status": 201}] * 2}

    body = logged_body(api)
    assert body["elements"][0] == {
        "action": "ADD",
        "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("a@example.com")}],
        "firstName": "[REDACTED]",
        "lastName": "[REDACTED]",
        "title": "Engineer",
        "company": "Acme",
        "country": "GB",
    }
    assert body["elements"][1] == {
        "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("b@example.com")}],
        "action": "REMOVE",
    }


def test_email_in_valid_title_masked(api: Api):
    segment_id = api.create_segment()
    elements = [user("a@example.com", title=f"see {EMAIL}", company="Acme"), user("b@example.com", title="Engineer")]

    assert api.stream(segment_id, elements).json() == {"elements": [{"status": 201}] * 2}

    log = api.control("GET", "requests").text
    assert EMAIL not in log
    body = logged_body(api)
    assert body["elements"][0]["title"] == "[REDACTED]"
    assert body["elements"][0]["company"] == "Acme"
    assert body["elements"][1]["title"] == "Engineer"


def test_email_outside_elements_masked(api: Api):
    segment_id = api.create_segment()
    body = {"elements": [user("a@example.com")], "comment": EMAIL, "tags": ["x", f"<{EMAIL}>"]}

    response = api.post(f"/rest/dmpSegments/{segment_id}/users", restli_method="BATCH_CREATE", json=body)

    assert response.status_code == 200
    assert EMAIL not in api.control("GET", "requests").text
    logged = logged_body(api)
    assert logged["comment"] == "[REDACTED]"
    assert logged["tags"] == ["x", "[REDACTED]"]
    assert logged["elements"][0]["userIds"][0]["idValue"] == sha256("a@example.com")


def test_at_sign_without_email_kept(api: Api):
    segment_id = api.create_segment()
    elements = [user("a@example.com", title="R&D @ Acme", company="@acme")]

    assert api.stream(segment_id, elements).json() == {"elements": [{"status": 201}]}

    logged = logged_body(api)["elements"][0]
    assert logged["title"] == "R&D @ Acme"
    assert logged["company"] == "@acme"


def test_invalid_and_valid_elements_logged(api: Api):
    segment_id = api.create_segment()
    elements = [
        {"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": EMAIL}], "firstName": "Ana"},
        user("a@example.com", firstName="Ada", lastName="Lovelace"),
        {"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("c@example.com")}], "note": "x"},
    ]

    results = api.stream(segment_id, elements).json()["elements"]

    assert [result["status"] for result in results] == [400, 201, 400]
    assert results[2]["error"]["code"] == "UNKNOWN_FIELD"
    log = api.control("GET", "requests").text
    assert EMAIL not in log
    assert "Ana" not in log
    assert "Lovelace" not in log
    logged = logged_body(api)["elements"]
    assert logged[0]["userIds"] == [{"idType": "SHA256_EMAIL", "idValue": "[REDACTED]"}]
    assert logged[1]["userIds"] == [{"idType": "SHA256_EMAIL", "idValue": sha256("a@example.com")}]
    assert logged[2]["note"] == "[REDACTED]"


def test_country_codes_checked_exactly(api: Api):
    segment_id = api.create_segment()
    countries = ["GB", "DE", "AQ", "UK", "EU", "Gb", "G", "GBR", 44]

    results = api.stream(segment_id, [user(f"{index}@example.com", country=country)
                                      for index, country in enumerate(countries)]).json()["elements"]

    statuses = [result["status"] for result in results]
    assert statuses == [201, 201, 201, 400, 400, 400, 400, 400, 400]
    assert {result["error"]["code"] for result in results if result["status"] == 400} == {"INVALID_COUNTRY"}


def test_database_settings(sandbox: SandboxServer):
    connection = sandbox.store._connection

    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIBIBYTES
    assert connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_AUTOCHECKPOINT_PAGES
    assert stat.S_IMODE(sandbox.db_path.stat().st_mode) == 0o600


def test_database_without_match_index_opens(tmp_path):
    """A file written before the members_by_match index existed gains it and keeps its members."""
    db_path = tmp_path / "sandbox.db"
    settings = SandboxSettings(segment_ready_delay_seconds=0, build_delay_seconds=0)
    with SandboxServer(db_path, settings=settings) as server:
        api = Api(server, server.issue_token()["access_token"])
        segment_id = api.create_segment()
        elements = [user(f"{index}@example.com") for index in range(200)]
        assert api.stream(segment_id, elements).status_code == 200
        audience_size = api.segment(segment_id)["destinations"][0]["audienceSize"]
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute("DROP INDEX members_by_match")
        connection.commit()

    with SandboxServer(db_path, settings=settings) as server:
        api = Api(server, server.issue_token()["access_token"])
        index_names = [row[0] for row in server.store._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'members'")]
        segment = api.segment(segment_id)
        members = api.control("GET", f"segments/{segment_id}/members").json()["members"]

    assert "members_by_match" in index_names
    assert 0 < audience_size < 200
    assert segment["destinations"][0]["audienceSize"] == audience_size
    assert len(members) == 200
