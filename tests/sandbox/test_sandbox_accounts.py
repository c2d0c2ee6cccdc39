"""Profile and ad-account discovery: `/v2/me`, `/rest/me`, `adAccountUsers`, `adAccounts` search."""

from __future__ import annotations

from sandbox_helpers import Api, assert_error

from target_linkedin_audiences.sandbox import DEMO_MEMBER_URN, SandboxServer, SandboxSettings

SEARCH = "/rest/adAccounts?q=search&search=(status:(values:List(ACTIVE)),type:(values:List(BUSINESS)))"


def test_profile_endpoints_return_demo_member(api):
    for path in ("/v2/me", "/rest/me"):
        body = api.get(path).json()

        assert f"urn:li:person:{body['id']}" == DEMO_MEMBER_URN
        assert body["localizedFirstName"] == "Dana"
        assert body["localizedLastName"] == "Demo"


def test_account_users_list_roles(api):
    body = api.get("/rest/adAccountUsers?q=authenticatedUser").json()

    roles = {element["account"]: element["role"] for element in body["elements"]}
    assert roles == {
        "urn:li:sponsoredAccount:510000001": "ACCOUNT_MANAGER",
        "urn:li:sponsoredAccount:510000002": "CAMPAIGN_MANAGER",
        "urn:li:sponsoredAccount:510000003": "VIEWER",
        "urn:li:sponsoredAccount:510000004": "CREATIVE_MANAGER",
    }
    assert all(element["user"] == DEMO_MEMBER_URN for element in body["elements"])
    assert body["paging"] == {"start": 0, "count": 10, "total": 4, "links": []}


def test_account_users_need_known_finder(api):
    assert_error(api.get("/rest/adAccountUsers?q=accounts"), 400)


def test_account_users_page_with_extra_accounts(tmp_path):
    with SandboxServer(tmp_path / "s.db", settings=SandboxSettings(extra_accounts=23)) as server:
        api = Api(server, server.issue_token()["access_token"])
        pages = []
        start = 0
        while True:
            body = api.get(f"/rest/adAccountUsers?q=authenticatedUser&start={start}&count=10").json()
            pages.append(body)
            if len(body["elements"]) < 10:
                break
            start += 10

    elements = [element for page in pages for element in page["elements"]]
    assert [len(page["elements"]) for page in pages] == [10, 10, 7]
    assert len({element["account"] for element in elements}) == 27
    assert pages[0]["paging"]["total"] == 27
    assert pages[0]["paging"]["links"][0]["rel"] == "next"
    assert "start=10" in pages[0]["paging"]["links"][0]["href"]
    roles = [element["role"] for element in elements[4:]]
    assert roles[:5] == ["CAMPAIGN_MANAGER", "ACCOUNT_MANAGER", "CREATIVE_MANAGER", "ACCOUNT_BILLING_ADMIN", "VIEWER"]


def test_account_search_returns_fields(api):
    body = api.get(SEARCH).json()

    assert [element["id"] for element in body["elements"]] == [510000001, 510000002, 510000003, 510000004]
    first = body["elements"][0]
    assert (first["name"], first["currency"], first["status"], first["type"], first["test"]) == (
        "Sandbox Demo Co", "USD", "ACTIVE", "BUSINESS", False)


def test_account_search_filters_test_accounts(api):
    body = api.get("/rest/adAccounts?q=search&search=(test:false)").json()

    assert 510000004 not in [element["id"] for element in body["elements"]]


def test_account_search_projects_fields(api):
    body = api.get(SEARCH + "&fields=id,name").json()

    assert all(set(element) == {"id", "name"} for element in body["elements"])


def test_account_search_by_encoded_id(api):
    body = api.get("/rest/adAccounts?q=search&search=(id:(values:List(urn%3Ali%3AsponsoredAccount%3A510000002)))").json()

    assert [element["id"] for element in body["elements"]] == [510000002]


def test_account_search_rejects_bad_criteria(api):
    assert_error(api.get("/rest/adAccounts?q=search&search=(color:(values:List(RED)))"), 400)
    assert_error(api.get("/rest/adAccounts?q=search&search=(status:(values:List(ACTIVE))"), 400)


def test_account_search_cursor_paging(tmp_path):
    with SandboxServer(tmp_path / "s.db", settings=SandboxSettings(extra_accounts=6)) as server:
        api = Api(server, server.issue_token()["access_token"])
        ids = []
        tokens = []
        path = SEARCH + "&pageSize=4"
        while True:
            body = api.get(path).json()
            ids += [element["id"] for element in body["elements"]]
            token = body["metadata"].get("nextPageToken")
            if token is None:
                break
            tokens.append(token)
            path = SEARCH + f"&pageSize=4&pageToken={token}"

    assert len(ids) == 10
    assert len(set(ids)) == 10
    assert len(tokens) == 2


def test_account_search_rejects_bad_page_token(api):
    assert_error(api.get(SEARCH + "&pageToken=garbage"), 400)
