"""Streaming members: BATCH_CREATE on /users and /companies, per-element checks and rate limits."""

from __future__ import annotations

import pytest
from sandbox_helpers import CAMPAIGN_ACCOUNT, VIEWER_ACCOUNT, Api, assert_error, sha256, user

from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"


def test_users_batch_returns_status_per_element(api):
    segment_id = api.create_segment()
    elements = [
        user("a@example.com", firstName="Ada", lastName="Lovelace", title="Engineer", company="Analytical",
             country="GB"),
        {"action": "ADD", "userIds": [{"idType": "SHA512_EMAIL", "idValue": "ab" * 64},
                                      {"idType": "GOOGLE_AID", "idValue": GAID}]},
        {"action": "ADD", "userIds": [{"idType": "APPLE_IDFA", "idValue": IDFA}]},
        {"action": "ADD", "firstName": "Only", "lastName": "Names"},
    ]

    response = api.stream(segment_id, elements)

    assert response.status_code == 200
    assert response.json() == {"elements": [{"status": 201}] * 4}
    members = api.control("GET", f"segments/{segment_id}/members").json()
    assert members["type"] == "USER"
    assert members["members"][0] == {key: value for key, value in elements[0].items() if key != "action"}
    assert len(members["members"]) == 4


@pytest.mark.parametrize(
    ("element", "code"),
    [
        ({"action": "ADD", "userIds": [{"idType": "EMAIL", "idValue": sha256("a@b.c")}]}, "INVALID_ID_TYPE"),
        ({"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": "ada@example.com"}]}, "INVALID_ID_VALUE"),
        ({"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("a").upper()}]},
         "INVALID_ID_VALUE"),
        ({"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("a")[:63]}]}, "INVALID_ID_VALUE"),
        ({"action": "ADD", "userIds": [{"idType": "SHA512_EMAIL", "idValue": sha256("a")}]}, "INVALID_ID_VALUE"),
        ({"action": "ADD", "userIds": [{"idType": "GOOGLE_AID", "idValue": GAID.upper()}]}, "INVALID_ID_VALUE"),
        ({"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL"}]}, "INVALID_USER_ID"),
        (user("a@b.c", firstName="x" * 36), "FIELD_TOO_LONG"),
        (user("a@b.c", lastName="x" * 36), "FIELD_TOO_LONG"),
        (user("a@b.c", title="x" * 51), "FIELD_TOO_LONG"),
        (user("a@b.c", company="x" * 51), "FIELD_TOO_LONG"),
        (user("a@b.c", country="USA"), "INVALID_COUNTRY"),
        (user("a@b.c", country="us"), "INVALID_COUNTRY"),
        (user("a@b.c", country="XX"), "INVALID_COUNTRY"),
        (user("a@b.c", action="UPSERT"), "INVALID_ACTION"),
        ({"userIds": [{"idType": "SHA256_EMAIL", "idValue": sha256("a")}]}, "INVALID_ACTION"),
        ({**user("x@example.com"), "email": "a@b.c"}, "UNKNOWN_FIELD"),
        ({"action": "ADD", "firstName": "Only"}, "MISSING_IDENTIFIER"),
        ("a@b.c", "INVALID_ELEMENT"),
    ],
)
def test_users_element_errors(api, element, code):
    segment_id = api.create_segment()

    response = api.stream(segment_id, [user("ok@example.com"), element])

    assert response.status_code == 200
    first, second = response.json()["elements"]
    assert first == {"status": 201}
    assert second["status"] == 400
    assert second["batchIndex"] == 1
    assert second["error"]["code"] == code
    assert second["error"]["message"].startswith("elements[1]: ")
    assert "a@b.c" not in second["error"]["message"]


def test_companies_batch(api):
    segment_id = api.create_segment(type_="COMPANY")
    elements = [
        {"action": "ADD", "companyName": "Acme", "companyWebsiteDomain": "acme.example", "industries": ["Retail"],
         "city": "Austin", "state": "TX", "country": "US", "postalCode": "73301", "stockSymbol": "ACME"},
        {"action": "ADD", "organizationUrn": "urn:li:organization:1234"},
        {"action": "ADD", "companyEmailDomain": "mail.example"},
        {"action": "ADD", "companyPageUrl": "https://www.linkedin.com/company/acme"},
    ]

    response = api.stream(segment_id, elements, kind="companies")

    assert response.json() == {"elements": [{"status": 201}] * 4}
    members = api.control("GET", f"segments/{segment_id}/members").json()
    assert members["type"] == "COMPANY"
    assert len(members["members"]) == 4


@pytest.mark.parametrize(
    ("element", "code"),
    [
        ({"action": "ADD", "city": "Austin", "country": "US"}, "MISSING_IDENTIFIER"),
        ({"action": "ADD", "companyName": ""}, "MISSING_IDENTIFIER"),
        ({"action": "ADD", "organizationUrn": "1234"}, "INVALID_URN"),
        ({"action": "ADD", "companyName": "A", "stockSymbol": "TOOLONG"}, "FIELD_TOO_LONG"),
        ({"action": "ADD", "companyName": "A", "companyPageUrl": "https://x/" + "a" * 100}, "FIELD_TOO_LONG"),
        ({"action": "ADD", "companyName": "A", "postalCode": "1" * 21}, "FIELD_TOO_LONG"),
        ({"action": "ADD", "companyName": "A", "city": "c" * 51}, "FIELD_TOO_LONG"),
        ({"action": "ADD", "companyName": "A", "industries": ["a", "b", "c", "d"]}, "TOO_MANY_INDUSTRIES"),
        ({"action": "ADD", "companyName": "A", "industries": ["i" * 51]}, "FIELD_TOO_LONG"),
        ({"action": "ADD", "companyName": "A", "industries": "Retail"}, "INVALID_FIELD_TYPE"),
        ({"action": "ADD", "companyName": "A", "country": "Germany"}, "INVALID_COUNTRY"),
        ({"action": "ADD", "companyName": "A", "userIds": []}, "UNKNOWN_FIELD"),
    ],
)
def test_companies_element_errors(api, element, code):
    segment_id = api.create_segment(type_="COMPANY")

    [result] = api.stream(segment_id, [element], kind="companies").json()["elements"]

    assert result["status"] == 400
    assert result["error"]["code"] == code


def test_endpoint_must_match_segment_type(api):
    user_segment = api.create_segment()
    company_segment = api.create_segment(type_="COMPANY")

    assert_error(api.stream(user_segment, [], kind="companies"), 400, "INVALID_SEGMENT_TYPE")
    assert_error(api.stream(company_segment, []), 400, "INVALID_SEGMENT_TYPE")


def test_add_and_remove_are_idempotent(api):
    segment_id = api.create_segment()

    api.stream(segment_id, [user("a@example.com", title="Old")])
    api.stream(segment_id, [user("a@example.com", title="New")])
    response = api.stream(segment_id, [user("nobody@example.com", action="REMOVE")])

    assert response.json() == {"elements": [{"status": 201}]}
    members = api.control("GET", f"segments/{segment_id}/members").json()["members"]
    assert len(members) == 1
    assert members[0]["title"] == "New"


def test_remove_deletes_member(api):
    segment_id = api.create_segment()
    api.stream(segment_id, [user("a@example.com"), user("b@example.com")])

    api.stream(segment_id, [user("a@example.com", action="REMOVE")])

    members = api.control("GET", f"segments/{segment_id}/members").json()["members"]
    assert [m["userIds"][0]["idValue"] for m in members] == [sha256("b@example.com")]


def test_more_than_5000_elements_rejected(api):
    segment_id = api.create_segment()
    element = user("a@example.com")

    body = assert_error(api.stream(segment_id, [element] * 5001), 400, "TOO_MANY_ELEMENTS")

    assert "5000" in body["message"]
    assert api.stream(segment_id, [element] * 5000).status_code == 200
    assert api.control("GET", f"segments/{segment_id}/members").json()["members"] != []


def test_batch_body_must_have_elements(api):
    segment_id = api.create_segment()

    assert_error(api.post(f"/rest/dmpSegments/{segment_id}/users", restli_method="BATCH_CREATE",
                          json={"element": []}), 400)


def test_viewer_cannot_stream(api, sandbox):
    # Segments cannot be created on a VIEWER account, so write one directly into the database.
    with sandbox.store.transaction() as db:
        db.execute("INSERT INTO segments (account, name, type, source_platform, destination_segment_id, created_at,"
                   " last_modified) VALUES (?, 'v', 'USER', 'SANDBOX', 'urn:li:adSegment:1', 0, 0)", (VIEWER_ACCOUNT,))
        segment_id = db.execute("SELECT MAX(id) FROM segments").fetchone()[0]

    assert_error(api.stream(segment_id, [user("a@example.com")]), 403, "ACCESS_DENIED")


def test_other_managed_account_can_stream(api):
    segment_id = api.create_segment(account=CAMPAIGN_ACCOUNT)

    assert api.stream(segment_id, [user("a@example.com")]).status_code == 200


def test_fresh_segment_is_404_for_five_seconds(tmp_path):
    with SandboxServer(tmp_path / "s.db", settings=SandboxSettings()) as server:
        api = Api(server, server.issue_token()["access_token"])
        segment_id = api.create_segment(type_="COMPANY")

        body = assert_error(api.stream(segment_id, [user("a@example.com")]), 404)
        company = assert_error(api.stream(segment_id, [], kind="companies"), 404)
        found = api.get(f"/rest/dmpSegments/{segment_id}").status_code
        server.advance_clock(5)
        later = api.stream(segment_id, [{"action": "ADD", "companyName": "Acme"}], kind="companies")

    assert body["message"] == f"Could not find DMP segment with ID {segment_id}"
    assert company["status"] == 404
    assert found == 200
    assert later.status_code == 200


def test_unknown_segment_is_404(api):
    assert_error(api.stream(99999, [user("a@example.com")]), 404)


def test_rate_limits_per_member_and_endpoint(tmp_path):
    settings = SandboxSettings(segment_ready_delay_seconds=0, users_requests_per_minute=3,
                               companies_requests_per_minute=2)
    with SandboxServer(tmp_path / "s.db", settings=settings) as server:
        api = Api(server, server.issue_token()["access_token"])
        users = api.create_segment()
        companies = api.create_segment(type_="COMPANY")

        user_statuses = [api.stream(users, []).status_code for _ in range(4)]
        throttled = api.stream(users, [])
        company_statuses = [api.stream(companies, [], kind="companies").status_code for _ in range(3)]
        # A second token of the same member shares the member's window.
        same_member = Api(server, server.issue_token()["access_token"]).stream(users, []).status_code
        server.advance_clock(61)
        after_window = api.stream(users, []).status_code

    assert user_statuses == [200, 200, 200, 429]
    body = assert_error(throttled, 429, "TOO_MANY_REQUESTS", 101)
    assert body["message"] == "Resource level throttle limit for calls to this resource is reached."
    assert "Retry-After" not in throttled.headers
    assert company_statuses == [200, 200, 429]
    assert same_member == 429
    assert after_window == 200


def test_default_rate_limits_are_linkedins():
    settings = SandboxSettings()

    assert (settings.users_requests_per_minute, settings.companies_requests_per_minute) == (600, 300)
    assert settings.max_elements_per_request == 5000
