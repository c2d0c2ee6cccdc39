"""Sponsored ad accounts of the signed-in member, with the member's role on each.

Roles come from `adAccountUsers?q=authenticatedUser` (offset paging). Names, status, currency and
type come from the `adAccounts` search finder (cursor paging), queried by account id. LinkedIn lets
any role but VIEWER manage audiences of an account.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t

from target_linkedin_audiences.client import account_urn, encode_list, encode_value
from target_linkedin_audiences.errors import LinkedInError

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from target_linkedin_audiences.client import LinkedInClient

logger = logging.getLogger(__name__)

ACCOUNT_USERS_PATH = "/rest/adAccountUsers"
ACCOUNTS_PATH = "/rest/adAccounts"
READ_ONLY_ROLE = "VIEWER"
# Account URNs per search request. Each one takes about 40 characters encoded, so 80 of them stay
# under LinkedIn's 4,000-character query limit and no query tunneling is needed.
SEARCH_IDS_PER_REQUEST = 80
# Elements per page of the adAccounts search finder, which allows 1 to 1,000.
SEARCH_PAGE_SIZE = 100
# Elements per page of the adAccountUsers finder.
ACCOUNT_USERS_PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class AdAccount:
    """One sponsored ad account and the signed-in member's role on it.

    Details are None when the search finder did not return the account.
    """

    id: str
    name: str | None
    status: str | None
    currency: str | None
    account_type: str | None
    test: bool | None
    role: str | None

    @property
    def urn(self) -> str:
        return account_urn(self.id)

    @property
    def can_manage_audiences(self) -> bool:
        """Whether the role may create and change DMP segments: any role but VIEWER."""
        return self.role is not None and self.role != READ_ONLY_ROLE

    def as_dict(self) -> dict[str, t.Any]:
        return {
            "id": self.id,
            "urn": self.urn,
            "name": self.name,
            "status": self.status,
            "currency": self.currency,
            "type": self.account_type,
            "test": self.test,
            "role": self.role,
            "can_manage_audiences": self.can_manage_audiences,
        }


def list_accounts(client: LinkedInClient) -> list[AdAccount]:
    """Return every ad account the token's member has a role on, in LinkedIn's order, all pages."""
    roles = member_roles(client)
    details = search_accounts(client, list(roles))

    accounts = []
    for urn, role in roles.items():
        element = details.get(urn, {})
        if not element:
            # NOTE: an account with a role but missing from the search (removed, or filtered by
            # LinkedIn) is still listed, with its details unknown.
            logger.warning("Ad account %s has a role but the adAccounts search did not return it", urn)
        accounts.append(
            AdAccount(
                id=urn.rsplit(":", 1)[-1],
                name=element.get("name"),
                status=element.get("status"),
                currency=element.get("currency"),
                account_type=element.get("type"),
                test=element.get("test") if isinstance(element.get("test"), bool) else None,
                role=role,
            )
        )
    return accounts


def member_roles(client: LinkedInClient) -> dict[str, str | None]:
    """Map each account URN the member can reach to the member's role on it."""
    roles: dict[str, str | None] = {}
    params = [("q", "authenticatedUser")]
    for element in client.find_all(ACCOUNT_USERS_PATH, params, page_size=ACCOUNT_USERS_PAGE_SIZE):
        try:
            urn = account_urn(element.get("account", ""))
        except ValueError:
            logger.warning("Skipping an adAccountUsers element whose account is not a sponsored account URN")
            continue
        role = element.get("role")
        # LinkedIn should list one role per account and member. If it ever lists two, the one
        # that can manage audiences is kept.
        if urn not in roles or roles[urn] in (None, READ_ONLY_ROLE):
            roles[urn] = role
    return roles


def search_accounts(client: LinkedInClient, urns: Sequence[str]) -> dict[str, dict[str, t.Any]]:
    """Read the adAccounts search elements of `urns`, keyed by account URN."""
    found: dict[str, dict[str, t.Any]] = {}
    for first in range(0, len(urns), SEARCH_IDS_PER_REQUEST):
        chunk = urns[first : first + SEARCH_IDS_PER_REQUEST]
        params = [("q", "search"), ("search", f"(id:(values:{encode_list(chunk)}))")]
        for element in cursor_pages(client, ACCOUNTS_PATH, params, page_size=SEARCH_PAGE_SIZE):
            try:
                found[account_urn(element.get("id", ""))] = element
            except ValueError:
                logger.warning("Skipping an adAccounts element without a numeric id")
    return found


def cursor_pages(
    client: LinkedInClient,
    path: str,
    params: Sequence[tuple[str, str]],
    *,
    page_size: int,
) -> Iterator[dict]:
    """Yield every element of a finder with cursor paging (`pageSize`, `pageToken`).

    The next page's token is read from `metadata.nextPageToken` and, failing that, from
    `paging.nextPageToken`, because LinkedIn's docs name both places. No token ends the listing.
    """
    token: str | None = None
    seen_tokens: set[str] = set()
    while True:
        page_params = [*params, ("pageSize", str(page_size))]
        if token is not None:
            page_params.append(("pageToken", encode_value(token)))
        body = client.get(path, page_params, restli_method="FINDER")
        yield from body.get("elements") or []

        token = next_page_token(body)
        if token is None:
            return
        if token in seen_tokens:
            msg = f"LinkedIn returned the page token of an earlier page again while listing {path}"
            raise LinkedInError(msg, method="GET", path=path)
        seen_tokens.add(token)


def next_page_token(body: t.Mapping[str, t.Any]) -> str | None:
    """Return the cursor of the next page from `metadata` or `paging`, or None on the last page."""
    for container in ("metadata", "paging"):
        block = body.get(container)
        if isinstance(block, dict):
            token = block.get("nextPageToken")
            if isinstance(token, str) and token:
                return token
    return None

