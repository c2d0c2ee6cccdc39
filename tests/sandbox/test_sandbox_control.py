"""Control endpoints: clock, faults, tokens, members, request log, reset, loopback-only access."""

from __future__ import annotations

import json
import time

import pytest
import requests
from sandbox_helpers import Api, assert_error, sha256, user
from werkzeug.test import Client

from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings
from target_linkedin_audiences.sandbox.app import SandboxApp
from target_linkedin_audiences.sandbox.store import Store

FINDER = "/rest/dmpSegments?q=account&account=urn%3Ali%3AsponsoredAccount%3A510000001"


def test_clock_advances_simulated_time(api):
    before = api.control("GET", "clock").json()

    after = api.control("POST", "clock", json={"advance_seconds": 3600}).json()

    assert after["offset_seconds"] == before["offset_seconds"] + 3600
    assert 3600 <= after["now"] - before["now"] < 3610


@pytest.mark.parametrize("body", [{"advance_seconds": -1}, {"advance_seconds": "10"}, {}, [1]])
def test_clock_rejects_bad_input(api, body):
    assert_error(api.control("POST", "clock", json=body), 400)


def test_fault_returns_status_headers_body_count_times(api):
    fault = {"method": "GET", "path": "/rest/dmpSegments", "status": 503, "count": 2,
             "headers": {"Retry-After": "1"}, "body": {"message": "down"}}
    assert api.control("POST", "faults", json=fault).status_code == 201

    first, second, third = (api.get(FINDER) for _ in range(3))

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "1"
    assert first.json() == {"message": "down"}


def test_fault_default_body_is_linkedin_error(api):
    api.control("POST", "faults", json={"path": "/rest/dmpSegments/*/users", "status": 429})
    segment_id = api.create_segment()

    response = api.stream(segment_id, [user("a@example.com")])

    assert_error(response, 429, "TOO_MANY_REQUESTS", 101)
    assert api.control("GET", f"segments/{segment_id}/members").json()["members"] == []


def test_fault_glob_matches_one_path_segment(api):
    segment_id = api.create_segment()
    api.control("POST", "faults", json={"path": "/rest/*", "status": 500, "count": 5})

    assert api.get(f"/rest/dmpSegments/{segment_id}").status_code == 200
    assert api.get("/rest/me").status_code == 500


def test_fault_method_must_match(api):
    api.control("POST", "faults", json={"method": "POST", "path": "/rest/dmpSegments", "status": 500})

    assert api.get(FINDER).status_code == 200
    assert api.post("/rest/dmpSegments", json={}).status_code == 500


def test_fault_on_token_endpoint(api, sandbox_token):
    api.control("POST", "faults", json={"path": "/oauth/v2/accessToken", "status": 500})
    form = {"grant_type": "refresh_token", "refresh_token": sandbox_token["refresh_token"],
            "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"}

    failed = requests.post(f"{api.url}/oauth/v2/accessToken", data=form, timeout=10)
    retried = requests.post(f"{api.url}/oauth/v2/accessToken", data=form, timeout=10)

    assert failed.status_code == 500
    assert retried.status_code == 200


def test_fault_drops_connection(api):
    api.control("POST", "faults", json={"path": "/rest/me", "drop_connection": True})

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api.url}/rest/me", headers=api.headers(), timeout=10)

    assert api.get("/rest/me").status_code == 200
    statuses = [entry["status"] for entry in api.control("GET", "requests").json()["requests"]]
    assert statuses == [0, 200]


def test_fault_delays_normal_answer(api):
    api.control("POST", "faults", json={"path": "/rest/me", "delay_seconds": 0.5})

    started = time.monotonic()
    response = api.get("/rest/me")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.5


def test_delayed_fault_times_out_client(api):
    api.control("POST", "faults", json={"path": "/rest/me", "delay_seconds": 1.5, "status": 200})

    with pytest.raises(requests.Timeout):
        requests.get(f"{api.url}/rest/me", headers=api.headers(), timeout=0.5)


@pytest.mark.parametrize(
    "fault",
    [
        {"path": "rest/me", "status": 500},
        {"path": "/rest/me"},
        {"path": "/rest/me", "status": 999},
        {"path": "/rest/me", "status": 500, "count": 0},
        {"path": "/rest/me", "status": 500, "headers": {"X": 1}},
        {"path": "/rest/me", "status": 500, "colour": "red"},
    ],
)
def test_fault_rejects_bad_definition(api, fault):
    assert_error(api.control("POST", "faults", json=fault), 400)


def test_faults_listed_and_cleared(api):
    api.control("POST", "faults", json={"path": "/rest/me", "status": 500, "count": 3})

    listed = api.control("GET", "faults").json()["faults"]
    cleared = api.control("DELETE", "faults")

    assert [(f["path"], f["remaining"]) for f in listed] == [("/rest/me", 3)]
    assert cleared.status_code == 204
    assert api.get("/rest/me").status_code == 200


def test_token_control_needs_known_token(api):
    assert_error(api.control("POST", "tokens/expire", json={"token": "nope"}), 404)
    assert_error(api.control("POST", "tokens/revoke", json={}), 400)


def test_members_of_unknown_segment_is_404(api):
    assert_error(api.control("GET", "segments/5/members"), 404)


def test_request_log_redacts_secrets_names_and_plaintext(api, sandbox_token):
    segment_id = api.create_segment()
    api.stream(segment_id, [
        user("a@example.com", firstName="Ada", lastName="Lovelace", title="Engineer"),
        {"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": "grace@example.com"}]},
        {"action": "ADD", "userIds": [{"idType": "EMAIL", "idValue": "linus@example.com"}], "email": "x@y.z"},
    ])
    requests.post(f"{api.url}/oauth/v2/accessToken", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": sandbox_token["refresh_token"],
        "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"})

    entries = api.control("GET", "requests").json()["requests"]
    text = json.dumps(entries)

    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert all(set(e) >= {"seq", "method", "path", "query", "headers", "body", "status"} for e in entries)
    assert sandbox_token["access_token"] not in text
    assert sandbox_token["refresh_token"] not in text
    assert "sandbox-client-secret" not in text
    for plaintext in ("grace@example.com", "linus@example.com", "x@y.z", "Ada", "Lovelace"):
        assert plaintext not in text
    assert entries[1]["headers"]["Authorization"] == "[REDACTED]"
    elements = entries[1]["body"]["elements"]
    assert elements[0]["userIds"][0]["idValue"] == sha256("a@example.com")
    assert elements[0]["title"] == "Engineer"
    assert elements[1]["userIds"][0]["idValue"] == "[REDACTED]"
    assert entries[2]["body"]["grant_type"] == "refresh_token"
    assert entries[2]["body"]["refresh_token"] == "[REDACTED]"


def test_request_log_since_and_excludes_control(api):
    api.get("/rest/me")
    api.control("GET", "clock")
    api.get("/v2/me")

    entries = api.control("GET", "requests", params={"since": 1}).json()["requests"]

    assert [(e["seq"], e["path"]) for e in entries] == [(2, "/v2/me")]


def test_reset_empties_everything(api, sandbox):
    segment_id = api.create_segment()
    api.control("POST", "faults", json={"path": "/nowhere", "status": 500})
    api.control("POST", "clock", json={"advance_seconds": 100})

    assert api.control("POST", "reset").status_code == 200

    assert api.control("GET", "clock").json()["offset_seconds"] == 0
    assert api.control("GET", "faults").json()["faults"] == []
    assert api.control("GET", "requests").json()["requests"] == []
    assert_error(api.get(f"/rest/dmpSegments/{segment_id}"), 401)


def test_state_survives_restart(tmp_path):
    db_path = tmp_path / "persist.db"
    with SandboxServer(db_path, settings=SandboxSettings(segment_ready_delay_seconds=0)) as server:
        token = server.issue_token()["access_token"]
        api = Api(server, token)
        segment_id = api.create_segment()
        api.stream(segment_id, [user("a@example.com")])
        server.advance_clock(500)

    with SandboxServer(db_path) as server:
        api = Api(server, token)
        body = api.segment(segment_id)
        members = api.control("GET", f"segments/{segment_id}/members").json()["members"]
        offset = api.control("GET", "clock").json()["offset_seconds"]

    assert body["name"] == "Newsletter"
    assert len(members) == 1
    assert offset == 500


def test_control_rejects_non_loopback_clients(tmp_path):
    store = Store(tmp_path / "s.db")
    client = Client(SandboxApp(store, SandboxSettings()))

    remote = client.post("/_sandbox/reset", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    local = client.get("/_sandbox/clock", environ_base={"REMOTE_ADDR": "::1"})
    store.close()

    assert remote.status_code == 403
    assert local.status_code == 200


def test_unknown_control_path_is_404(api):
    assert_error(api.control("GET", "nothing"), 404)


def test_oversized_body_gets_413(api):
    response = api.post("/rest/dmpSegments", data=b"x" * (22 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})

    assert_error(response, 413)
    [entry] = api.control("GET", "requests").json()["requests"]
    assert entry["status"] == 413
    assert "not logged" in entry["body"]


def test_busy_port_raises_os_error(tmp_path):
    with SandboxServer(tmp_path / "a.db") as first:
        port = int(first.url.rsplit(":", 1)[1])
        second = SandboxServer(tmp_path / "b.db", port=port)

        with pytest.raises(OSError, match="already in use"):
            second.start()
