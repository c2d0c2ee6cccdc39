"""Helpers for the auth tests: configs, token managers and sandbox controls. It contains no tests."""

from __future__ import annotations

import typing as t
from pathlib import Path

import requests

from target_linkedin_audiences.auth import OAuthClient, TokenManager, TokenSet
from target_linkedin_audiences.client import LinkedInClient
from target_linkedin_audiences.sandbox import CLIENT_ID, CLIENT_SECRET
from target_linkedin_audiences.token_store import TokenStore


def sandbox_config(sandbox: t.Any, tmp_path: Path, **overrides: t.Any) -> dict[str, t.Any]:
    """Config for the admin CLI against a running sandbox, with the token store in `tmp_path`."""
    config: dict[str, t.Any] = {
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_store_path": str(tmp_path / "tokens.json"),
    }
    config.update(overrides)
    return config


def control(sandbox: t.Any, path: str, body: dict[str, t.Any]) -> dict[str, t.Any]:
    """POST to a `/_sandbox/...` control endpoint and return its JSON."""
    response = requests.post(f"{sandbox.url}/_sandbox/{path}", json=body, timeout=10)
    assert response.status_code < 300, response.text
    return response.json()


class CountingOAuthClient(OAuthClient):
    """An OAuthClient that counts refresh-token grants."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.refresh_count = 0

    def refresh(self, refresh_token: str) -> TokenSet:
        self.refresh_count += 1
        return super().refresh(refresh_token)


def token_manager(
    sandbox: t.Any,
    token: dict[str, t.Any],
    store: TokenStore | None = None,
    *,
    with_expiry: bool = True,
) -> tuple[TokenManager, CountingOAuthClient]:
    """A TokenManager for a sandbox token pair that saves refreshed tokens to `store`."""
    oauth = CountingOAuthClient(sandbox.url, CLIENT_ID, CLIENT_SECRET)
    if with_expiry:
        tokens = TokenSet.from_token_response(token)
    else:
        tokens = TokenSet(access_token=token["access_token"], refresh_token=token["refresh_token"])
    on_refresh = store.save if store is not None else None
    return TokenManager(tokens, oauth, on_refresh=on_refresh), oauth


def api_client(sandbox: t.Any, manager: TokenManager) -> LinkedInClient:
    return LinkedInClient(tokens=manager, api_base_url=sandbox.url, max_retry_seconds=30)


def secrets_of(*tokens: dict[str, t.Any] | TokenSet | None) -> list[str]:
    """The token strings of sandbox token responses or token sets, for leak checks."""
    values: list[str] = []
    for item in tokens:
        if item is None:
            continue
        if isinstance(item, TokenSet):
            values.extend(value for value in (item.access_token, item.refresh_token) if value)
        else:
            values.extend(item[key] for key in ("access_token", "refresh_token") if item.get(key))
    return values


def assert_no_secrets(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, "a token string appeared in the output"
        # A leak may be cut short, so the first 24 characters must not show up either.
        assert secret[:24] not in text, "the start of a token string appeared in the output"
