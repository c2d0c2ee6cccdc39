"""The demo member, its sponsored ad accounts, and the profile and account endpoints."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from target_linkedin_audiences.sandbox import restli
from target_linkedin_audiences.sandbox.errors import ApiError, json_response

if TYPE_CHECKING:
    from target_linkedin_audiences.sandbox.context import Context
    from target_linkedin_audiences.sandbox.settings import SandboxSettings

DEMO_MEMBER_ID = "SbxDemoMbr01"
DEMO_MEMBER_URN = f"urn:li:person:{DEMO_MEMBER_ID}"
DEMO_FIRST_NAME = "Dana"
DEMO_LAST_NAME = "Demo"

ACCOUNT_URN_PREFIX = "urn:li:sponsoredAccount:"
# Fixed epoch-millisecond audit stamps, so responses are stable across runs.
ACCOUNTS_CREATED_MS = 1_767_225_600_000

WRITE_ROLES = ("ACCOUNT_BILLING_ADMIN", "ACCOUNT_MANAGER", "CAMPAIGN_MANAGER", "CREATIVE_MANAGER")
# Roles of extra accounts, in rotation: one in five is read-only.
EXTRA_ROLES = ("CAMPAIGN_MANAGER", "ACCOUNT_MANAGER", "CREATIVE_MANAGER", "ACCOUNT_BILLING_ADMIN", "VIEWER")
FIRST_EXTRA_ACCOUNT_ID = 510_001_001


@dataclass(frozen=True)
class AdAccount:
    id: int
    name: str
    role: str
    currency: str
    status: str = "ACTIVE"
    type: str = "BUSINESS"
    test: bool = False

    @property
    def urn(self) -> str:
        return f"{ACCOUNT_URN_PREFIX}{self.id}"

    def as_element(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "currency": self.currency,
            "status": self.status,
            "type": self.type,
            "test": self.test,
            "reference": "urn:li:organization:2414183",
            "notifiedOnCreativeApproval": False,
            "changeAuditStamps": _audit_stamps(),
        }


# The demo's default account is the first one: the member manages it.
DEMO_ACCOUNTS = (
    AdAccount(510_000_001, "Sandbox Demo Co", "ACCOUNT_MANAGER", "USD"),
    AdAccount(510_000_002, "Sandbox Agency Client", "CAMPAIGN_MANAGER", "EUR"),
    AdAccount(510_000_003, "Sandbox Read-Only Brand", "VIEWER", "GBP"),
    AdAccount(510_000_004, "Sandbox Test Account", "CREATIVE_MANAGER", "USD", test=True),
)


def member_accounts(settings: SandboxSettings) -> list[AdAccount]:
    """Return the demo member's accounts: the four fixed ones, then `extra_accounts` more."""
    extra = [
        AdAccount(
            FIRST_EXTRA_ACCOUNT_ID + index,
            f"Sandbox Extra Account {index + 1}",
            EXTRA_ROLES[index % len(EXTRA_ROLES)],
            "USD",
        )
        for index in range(settings.extra_accounts)
    ]
    return [*DEMO_ACCOUNTS, *extra]


def account_role(settings: SandboxSettings, member: str, account_urn: str) -> str | None:
    """Return the member's role on an account, or None when the member has no access."""
    if member != DEMO_MEMBER_URN:
        return None
    for account in member_accounts(settings):
        if account.urn == account_urn:
            return account.role
    return None


def require_account_access(ctx: Context, account_urn: str, write: bool) -> None:
    """Raise 403 unless the caller has a role on the account, and a writing role when `write`."""
    role = account_role(ctx.settings, ctx.member, account_urn)
    if role is None:
        raise ApiError(403, f"Member has no role on the ad account {account_urn}", code="ACCESS_DENIED")
    if write and role not in WRITE_ROLES:
        raise ApiError(
            403,
            f"Member has the role {role} on {account_urn}, which cannot manage audiences;"
            " a role other than VIEWER is required",
            code="ACCESS_DENIED",
        )


def _audit_stamps() -> dict[str, Any]:
    return {"created": {"time": ACCOUNTS_CREATED_MS}, "lastModified": {"time": ACCOUNTS_CREATED_MS}}


def _profile() -> dict[str, Any]:
    locale = {"country": "US", "language": "en"}
    return {
        "id": DEMO_MEMBER_ID,
        "localizedFirstName": DEMO_FIRST_NAME,
        "localizedLastName": DEMO_LAST_NAME,
        "firstName": {"localized": {"en_US": DEMO_FIRST_NAME}, "preferredLocale": locale},
        "lastName": {"localized": {"en_US": DEMO_LAST_NAME}, "preferredLocale": locale},
        "localizedHeadline": "Marketing operations at Sandbox Demo Co",
        "vanityName": "dana-demo-sandbox",
    }


def get_me(ctx: Context) -> Response:
    """`GET /v2/me` and `GET /rest/me`: the token owner's basic profile."""
    return json_response(_profile())


def find_account_users(ctx: Context) -> Response:
    """`GET /rest/adAccountUsers?q=authenticatedUser`, paged with `start`/`count`."""
    finder = restli.decode_scalar(ctx.params.get("q", ""))
    if finder != "authenticatedUser":
        raise ApiError(400, f"Unsupported finder q={finder!r} on adAccountUsers; use q=authenticatedUser")

    start, count = restli.paging_params(ctx.params)
    accounts = member_accounts(ctx.settings)
    elements = [
        {"account": account.urn, "user": ctx.member, "role": account.role, "changeAuditStamps": _audit_stamps()}
        for account in accounts[start : start + count]
    ]
    paging = restli.paging_block(ctx.request.path, ctx.params, start, count, len(accounts))
    return json_response({"paging": paging, "elements": elements})


def search_accounts(ctx: Context) -> Response:
    """`GET /rest/adAccounts?q=search`, with cursor paging (`pageSize`, `pageToken`) or `start`/`count`."""
    finder = restli.decode_scalar(ctx.params.get("q", ""))
    if finder != "search":
        raise ApiError(400, f"Unsupported finder q={finder!r} on adAccounts; use q=search")

    criteria = restli.decode(ctx.params["search"]) if "search" in ctx.params else {}
    if not isinstance(criteria, dict):
        raise ApiError(400, "The search parameter must be a Rest.li object such as (status:(values:List(ACTIVE)))")
    matching = [a for a in member_accounts(ctx.settings) if _matches_search(a, criteria)]

    elements = [a.as_element() for a in matching]
    if "fields" in ctx.params:
        projection = restli.decode_scalar(ctx.params["fields"]).split(",")
        elements = [{key: value for key, value in e.items() if key in projection} for e in elements]

    if "pageSize" in ctx.params or "pageToken" in ctx.params:
        return _cursor_page(ctx, elements)

    start, count = restli.paging_params(ctx.params)
    paging = restli.paging_block(ctx.request.path, ctx.params, start, count, len(elements))
    return json_response({"paging": paging, "elements": elements[start : start + count]})


def _cursor_page(ctx: Context, elements: list[dict]) -> Response:
    # NOTE: LinkedIn's docs disagree on where nextPageToken sits (metadata or paging); the
    # sandbox returns it under metadata only, and omits it on the last page.
    try:
        page_size = int(restli.decode_scalar(ctx.params.get("pageSize", "1000")))
        offset = _decode_page_token(ctx.params["pageToken"]) if "pageToken" in ctx.params else 0
    except ValueError:
        raise ApiError(400, "Invalid pageSize or pageToken") from None
    if not 1 <= page_size <= 1000:
        raise ApiError(400, f"pageSize must be between 1 and 1000, got {page_size}")

    body: dict[str, Any] = {
        "paging": {"start": 0, "count": page_size, "links": []},
        "elements": elements[offset : offset + page_size],
        "metadata": {},
    }
    if offset + page_size < len(elements):
        body["metadata"]["nextPageToken"] = _encode_page_token(offset + page_size)
    return json_response(body)


def _encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_page_token(raw: str) -> int:
    token = restli.decode_scalar(raw)
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    prefix, _, offset = decoded.partition(":")
    if prefix != "offset":
        raise ValueError(token)
    return int(offset)


def _matches_search(account: AdAccount, criteria: dict[str, Any]) -> bool:
    for key, condition in criteria.items():
        if key == "test":
            if str(condition).lower() != str(account.test).lower():
                return False
            continue
        if key not in ("type", "status", "name", "id", "reference"):
            raise ApiError(400, f"Unsupported search criterion {key!r} on adAccounts")
        values = condition.get("values") if isinstance(condition, dict) else None
        if not isinstance(values, list):
            raise ApiError(400, f"Search criterion {key!r} must look like {key}:(values:List(...))")
        actual = {"type": account.type, "status": account.status, "name": account.name,
                  "id": str(account.id), "reference": "urn:li:organization:2414183"}[key]
        if key == "id":
            values = [v.removeprefix(ACCOUNT_URN_PREFIX) for v in values]
        if actual not in values:
            return False
    return True
