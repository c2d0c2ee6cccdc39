"""DMP segments: create, get, finder, partial update, delete, limits, status flow and counters."""

from __future__ import annotations

import hashlib

import pytest
from sandbox_helpers import CAMPAIGN_ACCOUNT, MANAGED_ACCOUNT, VIEWER_ACCOUNT, Api, assert_error, sha256, user

from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

FINDER = "/rest/dmpSegments?q=account&account=urn%3Ali%3AsponsoredAccount%3A510000001"


def segment_body(**overrides):
    body = {"name": "Newsletter", "account": MANAGED_ACCOUNT, "type": "USER", "sourcePlatform": "SANDBOX",
            "destinations": [{"destination": "LINKEDIN"}]}
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


def predicted_match(identifier: str, percentage: int = 70) -> bool:
    """The documented matching rule, written out independently of the sandbox's code."""
    is_hex = len(identifier) in (64, 128) and all(c in "0123456789abcdef" for c in identifier)
    digest = identifier if is_hex else hashlib.sha256(identifier.encode()).hexdigest()
    return int(digest[:8], 16) % 100 < percentage


def test_create_returns_id_header(api):
    response = api.post("/rest/dmpSegments", json=segment_body(description="Weekly", sourceSegmentId="nl-1"))

    assert response.status_code == 201
    assert response.content == b""
    segment_id = response.headers["x-restli-id"]
    assert response.headers["Location"] == f"/rest/dmpSegments/{segment_id}"


def test_new_segment_is_building_without_counters(api):
    segment_id = api.create_segment(description="Weekly", sourceSegmentId="nl-1")

    body = api.segment(segment_id)

    assert body["id"] == segment_id
    assert (body["name"], body["description"], body["sourceSegmentId"]) == ("Newsletter", "Weekly", "nl-1")
    assert (body["account"], body["type"], body["sourcePlatform"]) == (MANAGED_ACCOUNT, "USER", "SANDBOX")
    assert isinstance(body["created"], int) and body["created"] > 1_700_000_000_000
    assert "inputCount" not in body
    [destination] = body["destinations"]
    assert destination["destination"] == "LINKEDIN"
    assert destination["status"] == "BUILDING"
    assert destination["destinationSegmentId"].startswith("urn:li:adSegment:")
    assert "matchedCount" not in destination
    assert "audienceSize" not in destination


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"name": None}, "MISSING_FIELD"),
        ({"destinations": None}, "MISSING_FIELD"),
        ({"colour": "red"}, "UNKNOWN_FIELD"),
        ({"type": "PEOPLE"}, "INVALID_ENUM_VALUE"),
        ({"sourcePlatform": "SEGMENT"}, "INVALID_ENUM_VALUE"),
        ({"type": "USER_LIST_UPLOAD"}, "INVALID_ENUM_VALUE"),
        ({"type": "COMPANY", "sourcePlatform": "LIST_UPLOAD"}, "INVALID_ENUM_VALUE"),
        ({"account": "510000001"}, "INVALID_URN"),
        ({"destinations": [{"destination": "FACEBOOK"}]}, "INVALID_VALUE"),
        ({"accessPolicy": "PUBLIC"}, "INVALID_ENUM_VALUE"),
        ({"name": " "}, "INVALID_VALUE"),
        ({"name": 5}, "INVALID_FIELD_TYPE"),
    ],
)
def test_create_rejects_invalid_body(api, overrides, code):
    assert_error(api.post("/rest/dmpSegments", json=segment_body(**overrides)), 400, code)


def test_create_accepts_legacy_access_policy(api):
    assert api.post("/rest/dmpSegments", json=segment_body(accessPolicy="PRIVATE")).status_code == 201


def test_create_rejects_invalid_json(api):
    response = api.post("/rest/dmpSegments", data="{not json", headers={"Content-Type": "application/json"})

    assert_error(response, 400)


def test_viewer_cannot_create(api):
    assert_error(api.post("/rest/dmpSegments", json=segment_body(account=VIEWER_ACCOUNT)), 403, "ACCESS_DENIED")


def test_unknown_account_is_forbidden(api):
    response = api.post("/rest/dmpSegments", json=segment_body(account="urn:li:sponsoredAccount:999"))

    assert_error(response, 403, "ACCESS_DENIED")


def test_viewer_can_find_segments(api):
    finder = "/rest/dmpSegments?q=account&account=urn%3Ali%3AsponsoredAccount%3A510000003"

    assert api.get(finder).status_code == 200


def test_duplicate_source_segment_id_conflicts(api):
    api.create_segment(sourceSegmentId="same")

    assert_error(api.post("/rest/dmpSegments", json=segment_body(sourceSegmentId="same")), 409)
    assert api.post("/rest/dmpSegments", json=segment_body(sourceSegmentId="same", account=CAMPAIGN_ACCOUNT)
                    ).status_code == 201


def test_segment_limit_per_account(tmp_path):
    with SandboxServer(tmp_path / "s.db", settings=SandboxSettings(max_segments_per_account=3)) as server:
        api = Api(server, server.issue_token()["access_token"])
        for index in range(3):
            api.create_segment(name=f"s{index}")

        body = assert_error(api.post("/rest/dmpSegments", json=segment_body()), 429, "SEGMENT_LIMIT_EXCEEDED")
        other_account = api.post("/rest/dmpSegments", json=segment_body(account=CAMPAIGN_ACCOUNT))

    assert "delete" in body["message"]
    assert other_account.status_code == 201


def test_segment_limit_default_is_1000():
    assert SandboxSettings().max_segments_per_account == 1000


def test_finder_filters_by_platform_and_source_id(api):
    user_id = api.create_segment(sourceSegmentId="key a")
    list_id = api.create_segment(type_="COMPANY_LIST_UPLOAD", sourceSegmentId="key-b")
    api.create_segment(account=CAMPAIGN_ACCOUNT)

    everything = api.get(FINDER).json()
    by_key = api.get(FINDER + "&sourceSegmentId=key%20a").json()
    lists = api.get(FINDER + "&sourcePlatform=LIST_UPLOAD").json()
    nothing = api.get(FINDER + "&sourcePlatform=SANDBOX&sourceSegmentId=key-b").json()

    assert [e["id"] for e in everything["elements"]] == [user_id, list_id]
    assert [e["id"] for e in by_key["elements"]] == [user_id]
    assert [e["id"] for e in lists["elements"]] == [list_id]
    assert nothing["elements"] == []
    assert nothing["paging"]["total"] == 0


def test_finder_pages_with_start_and_count(api):
    ids = [api.create_segment(name=f"s{index}") for index in range(12)]

    first = api.get(FINDER).json()
    second = api.get(FINDER + "&start=10&count=10").json()

    assert [e["id"] for e in first["elements"]] == ids[:10]
    assert [e["id"] for e in second["elements"]] == ids[10:]
    assert first["paging"]["total"] == 12
    assert [link["rel"] for link in first["paging"]["links"]] == ["next"]
    assert [link["rel"] for link in second["paging"]["links"]] == ["prev"]


def test_finder_needs_account(api):
    assert_error(api.get("/rest/dmpSegments?q=account"), 400)
    assert_error(api.get("/rest/dmpSegments?q=name"), 400)
    assert_error(api.get("/rest/dmpSegments?q=account&account=urn%3Ali%3AsponsoredAccount%3A1"), 403)


def test_finder_accepts_unencoded_urn(api):
    segment_id = api.create_segment()

    body = api.get("/rest/dmpSegments?q=account&account=urn:li:sponsoredAccount:510000001").json()

    assert [e["id"] for e in body["elements"]] == [segment_id]


def test_get_unknown_segment_is_404(api):
    body = assert_error(api.get("/rest/dmpSegments/424242"), 404)

    assert "424242" in body["message"]


def test_partial_update_sets_name_and_description(api):
    segment_id = api.create_segment()

    response = api.post(f"/rest/dmpSegments/{segment_id}", restli_method="PARTIAL_UPDATE",
                        json={"patch": {"$set": {"name": "Renamed", "description": "New"}}})

    assert response.status_code == 204
    body = api.segment(segment_id)
    assert (body["name"], body["description"]) == ("Renamed", "New")


def test_partial_update_deletes_description(api):
    segment_id = api.create_segment(description="Old")

    api.post(f"/rest/dmpSegments/{segment_id}", restli_method="PARTIAL_UPDATE",
             json={"patch": {"$delete": ["description"]}})

    assert "description" not in api.segment(segment_id)


@pytest.mark.parametrize(
    "body",
    [
        {"patch": {"$set": {"type": "COMPANY"}}},
        {"patch": {"$set": {"name": ""}}},
        {"patch": {"$delete": ["name"]}},
        {"patch": {}},
        {"name": "x"},
    ],
)
def test_partial_update_rejects_invalid_patch(api, body):
    segment_id = api.create_segment()

    assert_error(api.post(f"/rest/dmpSegments/{segment_id}", restli_method="PARTIAL_UPDATE", json=body), 400)


def test_delete_removes_segment(api):
    segment_id = api.create_segment()

    response = api.request("DELETE", f"/rest/dmpSegments/{segment_id}")

    assert response.status_code == 204
    assert_error(api.get(f"/rest/dmpSegments/{segment_id}"), 404)
    assert_error(api.request("DELETE", f"/rest/dmpSegments/{segment_id}"), 404)


def test_status_flow_building_ready_updating(api, sandbox):
    segment_id = api.create_segment()
    sandbox.advance_clock(60)
    assert api.segment(segment_id)["destinations"][0]["status"] == "BUILDING"

    api.stream(segment_id, [user("a@example.com")])
    sandbox.advance_clock(1)
    assert api.segment(segment_id)["destinations"][0]["status"] == "BUILDING"

    sandbox.advance_clock(1)
    assert api.segment(segment_id)["destinations"][0]["status"] == "READY"

    api.stream(segment_id, [user("b@example.com")])
    assert api.segment(segment_id)["destinations"][0]["status"] == "UPDATING"

    sandbox.advance_clock(5)
    assert api.segment(segment_id)["destinations"][0]["status"] == "READY"


@pytest.mark.parametrize("status", ["FAILED", "EXPIRED", "ARCHIVED", "ERROR"])
def test_pinned_status_overrides_simulation(api, sandbox, status):
    segment_id = api.create_segment()
    api.stream(segment_id, [user("a@example.com")])

    pinned = api.control("POST", f"segments/{segment_id}/status", json={"status": status})
    sandbox.advance_clock(3600)

    assert pinned.status_code == 200
    destination = api.segment(segment_id)["destinations"][0]
    assert destination["status"] == status
    assert destination["audienceSize"] == int(predicted_match(sha256("a@example.com")))

    api.control("POST", f"segments/{segment_id}/status", json={"status": None})
    assert api.segment(segment_id)["destinations"][0]["status"] == "READY"


def test_pinned_status_rejects_unknown_value(api):
    segment_id = api.create_segment()

    assert_error(api.control("POST", f"segments/{segment_id}/status", json={"status": "DONE"}), 400)


def test_counters_follow_matching_rule(api, sandbox):
    emails = [f"member{index}@example.com" for index in range(200)]
    expected_matches = sum(predicted_match(sha256(email)) for email in emails)
    segment_id = api.create_segment()

    api.stream(segment_id, [user(email) for email in emails])
    api.stream(segment_id, [user(email, action="REMOVE") for email in emails[:50]])
    sandbox.advance_clock(2)

    body = api.segment(segment_id)
    destination = body["destinations"][0]
    removed_matches = sum(predicted_match(sha256(email)) for email in emails[:50])
    assert body["inputCount"] == 250
    assert destination["matchedCount"] == expected_matches + removed_matches
    assert destination["audienceSize"] == expected_matches - removed_matches
    assert 100 < expected_matches < 180


def test_input_count_covers_last_seven_days(api, sandbox):
    segment_id = api.create_segment()
    api.stream(segment_id, [user(f"old{index}@example.com") for index in range(10)])
    sandbox.advance_clock(7 * 86400 + 1)
    api.stream(segment_id, [user("new@example.com")])
    sandbox.advance_clock(10)

    body = api.segment(segment_id)

    assert body["inputCount"] == 1
    assert body["destinations"][0]["matchedCount"] == int(predicted_match(sha256("new@example.com")))
    old_matches = sum(predicted_match(sha256(f"old{index}@example.com")) for index in range(10))
    assert body["destinations"][0]["audienceSize"] == old_matches + body["destinations"][0]["matchedCount"]


def test_match_percentage_setting(tmp_path):
    for percentage, expected in ((0, 0), (100, 30)):
        settings = SandboxSettings(match_percentage=percentage, segment_ready_delay_seconds=0, build_delay_seconds=0)
        with SandboxServer(tmp_path / f"{percentage}.db", settings=settings) as server:
            api = Api(server, server.issue_token()["access_token"])
            segment_id = api.create_segment()
            api.stream(segment_id, [user(f"p{index}@example.com") for index in range(30)])

            assert api.segment(segment_id)["destinations"][0]["audienceSize"] == expected
