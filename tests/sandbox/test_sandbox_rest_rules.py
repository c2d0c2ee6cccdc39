"""Rules every versioned call must pass: token, LinkedIn-Version, Rest.li headers, scope."""

from __future__ import annotations

import pytest

from sandbox_helpers import MANAGED_ACCOUNT, Api, assert_error, user

FINDER = "/rest/dmpSegments?q=account&account=urn%3Ali%3AsponsoredAccount%3A510000001"


def test_missing_version_rejected(api):
    body = assert_error(api.get(FINDER, headers={"LinkedIn-Version": None}), 400, "VERSION_MISSING")

    assert "LinkedIn-Version" in body["message"]


@pytest.mark.parametrize("version", ["202507", "202508", "202510", "202511", "209901", "2026-08", "latest"])
def test_inactive_or_malformed_version_gets_426(api, version):
    body = assert_error(api.get(FINDER, headers={"LinkedIn-Version": version}), 426, "NONEXISTENT_VERSION")

    assert body["message"] == f"Requested version {version} is not active"


def test_active_versions_are_settings(tmp_path):
    from target_linkedin_audiences.sandbox import SandboxServer, SandboxSettings

    with SandboxServer(tmp_path / "s.db", settings=SandboxSettings(active_versions=["202607"])) as server:
        api = Api(server, server.issue_token()["access_token"])
        assert api.get("/rest/me", headers={"LinkedIn-Version": "202607"}).status_code == 200
        assert_error(api.get("/rest/me"), 426, "NONEXISTENT_VERSION")


def test_missing_protocol_version_rejected(api):
    assert_error(api.get(FINDER, headers={"X-Restli-Protocol-Version": None}), 400, "MISSING_PROTOCOL_VERSION")


def test_wrong_protocol_version_rejected(api):
    assert_error(api.get(FINDER, headers={"X-Restli-Protocol-Version": "1.0.0"}), 400, "INVALID_PROTOCOL_VERSION")


def test_batch_create_needs_restli_method(api):
    segment_id = api.create_segment()

    response = api.post(f"/rest/dmpSegments/{segment_id}/users", json={"elements": []})

    assert_error(response, 400, "MISSING_RESTLI_METHOD")


@pytest.mark.parametrize("method", ["CREATE", "PARTIAL_UPDATE", "BATCH_DELETE"])
def test_batch_create_rejects_other_restli_method(api, method):
    segment_id = api.create_segment()

    response = api.post(f"/rest/dmpSegments/{segment_id}/users", restli_method=method, json={"elements": []})

    assert_error(response, 400, "INVALID_RESTLI_METHOD")


def test_partial_update_needs_restli_method(api):
    segment_id = api.create_segment()

    response = api.post(f"/rest/dmpSegments/{segment_id}", json={"patch": {"$set": {"name": "x"}}})

    assert_error(response, 400, "MISSING_RESTLI_METHOD")


def test_finder_accepts_finder_method_and_rejects_create(api):
    assert api.get(FINDER, restli_method="FINDER").status_code == 200
    assert_error(api.get(FINDER, restli_method="CREATE"), 400, "INVALID_RESTLI_METHOD")


def test_missing_token_gets_401(api):
    body = assert_error(api.get(FINDER, headers={"Authorization": None}), 401, service_error_code=401)

    assert body["message"] == "Empty oauth2_access_token"


def test_invalid_token_gets_65600(api):
    assert_error(api.get(FINDER, headers={"Authorization": "Bearer nonsense"}), 401, "INVALID_ACCESS_TOKEN", 65600)


def test_non_bearer_scheme_gets_65600(api):
    assert_error(api.get(FINDER, headers={"Authorization": "Basic abc"}), 401, service_error_code=65600)


def test_refresh_token_as_bearer_gets_65600(api, sandbox_token):
    response = api.get(FINDER, headers={"Authorization": f"Bearer {sandbox_token['refresh_token']}"})

    assert_error(response, 401, service_error_code=65600)


def test_revoked_token_gets_65601(api):
    api.control("POST", "tokens/revoke", json={"token": api.access_token})

    assert_error(api.get(FINDER), 401, "REVOKED_ACCESS_TOKEN", 65601)


def test_expired_token_gets_65602(api):
    api.control("POST", "tokens/expire", json={"token": api.access_token})

    assert_error(api.get(FINDER), 401, "EXPIRED_ACCESS_TOKEN", 65602)


def test_token_expires_on_simulated_clock(sandbox):
    api = Api(sandbox, sandbox.issue_token(access_ttl=100)["access_token"])
    assert api.get(FINDER).status_code == 200

    sandbox.advance_clock(100)

    assert_error(api.get(FINDER), 401, service_error_code=65602)


@pytest.mark.parametrize(
    ("scope", "path"),
    [
        ("r_ads r_basicprofile", FINDER),
        ("rw_dmp_segments r_basicprofile", "/rest/adAccountUsers?q=authenticatedUser"),
        ("rw_dmp_segments r_ads", "/rest/me"),
        ("rw_dmp_segments r_ads", "/v2/me"),
    ],
)
def test_missing_scope_gets_403(sandbox, scope, path):
    api = Api(sandbox, sandbox.issue_token(scope=scope)["access_token"])

    assert_error(api.get(path), 403, "ACCESS_DENIED")


def test_missing_scope_on_create_gets_403(sandbox):
    api = Api(sandbox, sandbox.issue_token(scope="r_ads")["access_token"])
    body = {"name": "x", "account": MANAGED_ACCOUNT, "type": "USER", "sourcePlatform": "SANDBOX",
            "destinations": [{"destination": "LINKEDIN"}]}

    assert_error(api.post("/rest/dmpSegments", json=body), 403, "ACCESS_DENIED")


def test_token_is_checked_before_version(api):
    response = api.get(FINDER, headers={"Authorization": None, "LinkedIn-Version": None})

    assert_error(response, 401)


def test_unversioned_endpoints_need_no_version(api):
    response = api.get("/v2/me", headers={"LinkedIn-Version": None, "X-Restli-Protocol-Version": None})

    assert response.status_code == 200


def test_unknown_path_gets_404(api):
    assert_error(api.get("/rest/campaigns"), 404)


def test_wrong_method_gets_405(api):
    assert_error(api.request("PUT", "/rest/dmpSegments"), 405)


def test_long_query_gets_414(api):
    assert_error(api.get(FINDER + "&sourceSegmentId=" + "a" * 5000), 414)


def test_query_tunneling_is_a_get(api):
    api.create_segment(sourceSegmentId="key-1")
    query = "q=account&account=urn%3Ali%3AsponsoredAccount%3A510000001&sourceSegmentId=key-1"

    response = api.post("/rest/dmpSegments", data=query, headers={
        "X-HTTP-Method-Override": "GET", "Content-Type": "application/x-www-form-urlencoded"})

    assert response.status_code == 200
    assert len(response.json()["elements"]) == 1


def test_responses_carry_protocol_and_uuid_headers(api):
    response = api.get(FINDER)

    assert response.headers["X-RestLi-Protocol-Version"] == "2.0.0"
    assert response.headers["x-li-uuid"]


def test_concurrent_clients_all_served(api):
    from concurrent.futures import ThreadPoolExecutor

    segment_id = api.create_segment()

    def send(index: int) -> int:
        session = Api(api.server, api.access_token)
        return session.stream(segment_id, [user(f"person{index}-{n}@example.com") for n in range(20)]).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(24)))

    assert statuses == [200] * 24
    members = api.control("GET", f"segments/{segment_id}/members").json()["members"]
    assert len(members) == 24 * 20




ELEMENT_TEXT = (
    '{"elements": [{"action": "ADD", "userIds": [{"idType": "SHA256_EMAIL", "idValue": "%s"}], "title": "CFO"}]}'
    % ("a" * 64)
)


@pytest.mark.parametrize(
    ("body", "title"),
    [
        (b"\xef\xbb\xbf" + ELEMENT_TEXT.encode(), "CFO"),
        (ELEMENT_TEXT.encode("utf-16"), "CFO"),
        (ELEMENT_TEXT.replace('"title": "CFO"', '"title": "CFO", "title": "CEO"').encode(), "CEO"),
    ],
    ids=["utf8-bom", "utf16", "duplicate-key-last-wins"],
)
def test_body_parsed_like_stdlib_json(api, body, title):
    segment_id = api.create_segment()
    headers = {"Content-Type": "application/json"}

    response = api.post(f"/rest/dmpSegments/{segment_id}/users", restli_method="BATCH_CREATE", data=body, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json()["elements"] == [{"status": 201}]
    members = api.control("GET", f"segments/{segment_id}/members").json()["members"]
    assert members[0]["title"] == title


def test_malformed_body_gets_stdlib_message(api):
    segment_id = api.create_segment()
    headers = {"Content-Type": "application/json"}

    response = api.post(
        f"/rest/dmpSegments/{segment_id}/users", restli_method="BATCH_CREATE", data=b'{"elements": [}', headers=headers
    )

    body = assert_error(response, 400)
    assert body["message"] == "The request body is not valid JSON: Expecting value: line 1 column 15 (char 14)"
