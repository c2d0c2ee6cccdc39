"""`linkedin-audiences accounts list` against the sandbox, and the account paging helpers."""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests
from click.testing import CliRunner, Result

from target_linkedin_audiences import accounts as accounts_module
from target_linkedin_audiences.cli import main
from target_linkedin_audiences.cli.accounts import ACCOUNT_FIELDS
from target_linkedin_audiences.errors import LinkedInError
from target_linkedin_audiences.sandbox import DEMO_ACCOUNTS, SandboxServer, SandboxSettings
from tests.target_helpers import add_fault, sandbox_requests

# 4 demo accounts plus these: more than one 100-element page of adAccountUsers, and more than
# one 80-id adAccounts search.
EXTRA_ACCOUNTS = 150


def run_cli(*args: str, columns: int = 80) -> Result:
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(main, list(args), catch_exceptions=False)


def write_config(path, server: SandboxServer, token: dict) -> str:
    path.write_text(json.dumps({"api_base_url": server.url, "access_token": token["access_token"]}))
    return str(path)


@pytest.fixture
def config_path(sandbox, sandbox_token, tmp_path) -> str:
    return write_config(tmp_path / "config.json", sandbox, sandbox_token)


@pytest.fixture(scope="module")
def many_accounts_server(tmp_path_factory):
    """A sandbox whose demo member has 154 accounts, every fifth extra one as VIEWER."""
    db_path = tmp_path_factory.mktemp("many-accounts") / "sandbox.db"
    with SandboxServer(db_path, settings=SandboxSettings(extra_accounts=EXTRA_ACCOUNTS)) as server:
        yield server


@pytest.fixture
def many_accounts_config(many_accounts_server, tmp_path) -> str:
    many_accounts_server.reset()
    token = many_accounts_server.issue_token()
    return write_config(tmp_path / "config.json", many_accounts_server, token)


def listed_json(config_path: str) -> list[dict]:
    result = run_cli("accounts", "list", "--config", config_path, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["accounts"]


# The demo member's accounts


def test_lists_demo_accounts_with_roles(config_path):
    listed = listed_json(config_path)

    assert [row["id"] for row in listed] == [str(account.id) for account in DEMO_ACCOUNTS]
    for row, account in zip(listed, DEMO_ACCOUNTS, strict=True):
        assert row["urn"] == f"urn:li:sponsoredAccount:{account.id}"
        assert row["name"] == account.name
        assert row["status"] == account.status
        assert row["currency"] == account.currency
        assert row["type"] == account.type
        assert row["test"] is account.test
        assert row["role"] == account.role


def test_viewer_cannot_manage_audiences(config_path):
    by_role = {row["role"]: row["can_manage_audiences"] for row in listed_json(config_path)}

    assert by_role == {
        "ACCOUNT_MANAGER": True,
        "CAMPAIGN_MANAGER": True,
        "VIEWER": False,
        "CREATIVE_MANAGER": True,
    }


def test_csv_has_every_field(config_path):
    result = run_cli("accounts", "list", "--config", config_path, "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.exit_code == 0
    assert list(rows[0]) == list(ACCOUNT_FIELDS)
    assert len(rows) == len(DEMO_ACCOUNTS)
    viewer = next(row for row in rows if row["role"] == "VIEWER")
    assert viewer["can_manage_audiences"] == "false"
    assert viewer["test"] == "false"
    assert rows[3]["test"] == "true"


def test_table_fits_80_columns(config_path):
    result = run_cli("accounts", "list", "--config", config_path)

    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert lines[0].split()[:2] == ["ID", "NAME"]
    assert lines[0].split()[-3:] == ["ROLE", "CAN", "MANAGE"]
    assert len(lines) == 1 + len(DEMO_ACCOUNTS)
    assert all(len(line) <= 80 for line in lines)
    viewer_line = next(line for line in lines if "VIEWER" in line)
    assert viewer_line.split()[-1] == "no"


def test_wide_table_shows_type(config_path):
    result = run_cli("accounts", "list", "--config", config_path, columns=160)

    header = result.stdout.splitlines()[0].split()
    assert header == ["ID", "NAME", "STATUS", "CURRENCY", "TYPE", "ROLE", "CAN", "MANAGE"]
    assert "Sandbox Read-Only Brand" in result.stdout


# Paging


def test_lists_every_page(many_accounts_server, many_accounts_config):
    listed = listed_json(many_accounts_config)

    assert len(listed) == len(DEMO_ACCOUNTS) + EXTRA_ACCOUNTS
    assert len({row["id"] for row in listed}) == len(listed)
    assert all(row["name"] for row in listed)
    assert listed[-1]["name"] == f"Sandbox Extra Account {EXTRA_ACCOUNTS}"
    viewers = [row for row in listed if row["role"] == "VIEWER"]
    assert len(viewers) == 1 + EXTRA_ACCOUNTS // 5
    assert not any(row["can_manage_audiences"] for row in viewers)

    logged = sandbox_requests(many_accounts_server)
    user_pages = [r for r in logged if r["path"] == "/rest/adAccountUsers"]
    searches = [r for r in logged if r["path"] == "/rest/adAccounts"]
    assert len(user_pages) == 2
    assert "start=100" in user_pages[1]["query"]
    assert len(searches) == 2


def test_follows_cursor_pages(many_accounts_server, many_accounts_config, monkeypatch):
    monkeypatch.setattr(accounts_module, "SEARCH_PAGE_SIZE", 7)

    listed = listed_json(many_accounts_config)

    assert len(listed) == len(DEMO_ACCOUNTS) + EXTRA_ACCOUNTS
    assert all(row["name"] for row in listed)
    searches = [r for r in sandbox_requests(many_accounts_server) if r["path"] == "/rest/adAccounts"]
    with_token = [r for r in searches if "pageToken=" in r["query"]]
    # 80 ids in 12 pages of 7, then 74 ids in 11 pages: every page after the first has a token.
    assert len(searches) == 12 + 11
    assert len(with_token) == 11 + 10
    assert all("pageSize=7" in r["query"] for r in searches)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"metadata": {"nextPageToken": "abc"}}, "abc"),
        ({"paging": {"start": 0, "count": 10, "nextPageToken": "def"}}, "def"),
        ({"metadata": {"nextPageToken": "abc"}, "paging": {"nextPageToken": "def"}}, "abc"),
        ({"metadata": {}, "paging": {"nextPageToken": "def"}}, "def"),
        ({"metadata": {"nextPageToken": ""}}, None),
        ({"metadata": {"nextPageToken": None}}, None),
        ({"paging": {"start": 0, "count": 10, "links": []}}, None),
        ({}, None),
    ],
)
def test_next_page_token_locations(body, expected):
    assert accounts_module.next_page_token(body) == expected


class PagedClient:
    """Returns canned finder pages in order and records the query of each call."""

    def __init__(self, pages: list[dict]) -> None:
        self.pages = pages
        self.queries: list[dict] = []

    def get(self, path, params, *, restli_method="GET"):
        self.queries.append(dict(params))
        return self.pages[len(self.queries) - 1]


def test_cursor_pages_read_paging_token():
    client = PagedClient(
        [
            {"elements": [{"id": 1}], "paging": {"nextPageToken": "t/2"}},
            {"elements": [{"id": 2}], "metadata": {"nextPageToken": "t3"}},
            {"elements": [{"id": 3}], "metadata": {}},
        ]
    )

    found = list(accounts_module.cursor_pages(client, "/rest/adAccounts", [("q", "search")], page_size=1))

    assert [element["id"] for element in found] == [1, 2, 3]
    assert "pageToken" not in client.queries[0]
    assert client.queries[1]["pageToken"] == "t%2F2"
    assert client.queries[2]["pageToken"] == "t3"


def test_cursor_pages_stop_on_repeated_token():
    page = {"elements": [{"id": 1}], "metadata": {"nextPageToken": "same"}}
    client = PagedClient([page, page, page])

    with pytest.raises(LinkedInError, match="page token of an earlier page"):
        list(accounts_module.cursor_pages(client, "/rest/adAccounts", [("q", "search")], page_size=1))


# Missing data and errors


def test_account_missing_from_search_still_listed(sandbox, config_path):
    add_fault(sandbox, method="GET", path="/rest/adAccounts", status=200, body={"elements": [], "metadata": {}}, count=2)

    listed = listed_json(config_path)
    table = run_cli("accounts", "list", "--config", config_path)

    assert [row["id"] for row in listed] == [str(account.id) for account in DEMO_ACCOUNTS]
    assert all(row["name"] is None and row["currency"] is None for row in listed)
    assert [row["role"] for row in listed] == [account.role for account in DEMO_ACCOUNTS]
    assert table.exit_code == 0
    assert f"{DEMO_ACCOUNTS[0].id}  -" in table.stdout


def test_member_without_accounts(sandbox, config_path):
    empty = {"paging": {"start": 0, "count": 100, "total": 0, "links": []}, "elements": []}
    add_fault(sandbox, method="GET", path="/rest/adAccountUsers", status=200, body=empty, count=3)

    document = run_cli("accounts", "list", "--config", config_path, "--format", "json")
    table = run_cli("accounts", "list", "--config", config_path)
    csv_result = run_cli("accounts", "list", "--config", config_path, "--format", "csv")

    assert json.loads(document.stdout) == {"accounts": []}
    assert table.stdout.strip() == "The signed-in member has no role on any sponsored ad account."
    assert csv_result.stdout.splitlines() == [",".join(ACCOUNT_FIELDS)]


def test_revoked_token_exits_3_without_token(sandbox, sandbox_token, config_path):
    response = requests.post(
        f"{sandbox.url}/_sandbox/tokens/revoke", json={"token": sandbox_token["access_token"]}, timeout=10
    )
    response.raise_for_status()

    result = run_cli("accounts", "list", "--config", config_path)

    assert result.exit_code == 3
    assert "HTTP 401" in result.stderr
    assert sandbox_token["access_token"] not in result.output
    assert sandbox_token["access_token"] not in result.stderr


def test_missing_config_file_exits_2(tmp_path):
    result = run_cli("accounts", "list", "--config", str(tmp_path / "absent.json"))

    assert result.exit_code == 2
    assert "config file not found" in result.stderr


def test_config_without_token_exits_2(sandbox, tmp_path):
    path = tmp_path / "no-token.json"
    path.write_text(json.dumps({"api_base_url": sandbox.url}))

    result = run_cli("accounts", "list", "--config", str(path))

    assert result.exit_code == 2
    assert "access_token is required" in result.stderr


def test_unknown_format_exits_2(config_path):
    result = run_cli("accounts", "list", "--config", config_path, "--format", "xml")

    assert result.exit_code == 2
    assert "'xml' is not one of" in result.stderr


def test_embedded_sandbox_lists_demo_accounts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    result = run_cli("accounts", "list", "--sandbox", "--sandbox-db", str(tmp_path / "embedded.db"), "--format", "json")

    assert result.exit_code == 0, result.output
    assert [row["id"] for row in json.loads(result.stdout)["accounts"]] == [str(a.id) for a in DEMO_ACCOUNTS]
