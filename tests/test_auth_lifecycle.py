"""Token lifecycle against the sandbox: start-of-run checks, refresh during calls, 65601, dead tokens."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from test_auth_support import api_client, assert_no_secrets, control, secrets_of, token_manager

from target_linkedin_audiences.auth import TokenManager, TokenSet, check_tokens_at_start
from target_linkedin_audiences.errors import (
    AuthenticationError,
    ConfigError,
    RefreshTokenError,
    TokenRevokedError,
)
from target_linkedin_audiences.token_store import TokenStore

DAY = 86400
REVOKED_BODY = {
    "status": 401,
    "serviceErrorCode": 65601,
    "code": "REVOKED_ACCESS_TOKEN",
    "message": "The token used in the request has been revoked by the user",
}


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "tokens.json")


def stored_access_token(store: TokenStore) -> str | None:
    loaded = store.load()
    return loaded.tokens.access_token if loaded else None


# Start of a run


def test_start_keeps_fresh_token(sandbox, store: TokenStore) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token(), store)
    before = manager.access_token

    assert check_tokens_at_start(manager, refresh_window_seconds=3600) is None

    assert manager.access_token == before
    assert oauth.refresh_count == 0
    assert not store.exists()


def test_start_refreshes_within_window(sandbox, store: TokenStore) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token(access_ttl=600), store)
    before = manager.access_token

    reason = check_tokens_at_start(manager, refresh_window_seconds=3600)

    assert reason is not None and "refresh window" in reason
    assert oauth.refresh_count == 1
    assert manager.access_token != before
    assert stored_access_token(store) == manager.access_token


def test_start_refreshes_token_expired_on_server(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    manager, oauth = token_manager(sandbox, token, store)

    reason = check_tokens_at_start(manager, refresh_window_seconds=60)

    assert reason is not None and "expired" in reason
    assert oauth.refresh_count == 1
    assert api_client(sandbox, manager).get("/rest/me")["id"]


def test_start_refreshes_revoked_access_token(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/revoke", {"token": token["access_token"]})
    manager, oauth = token_manager(sandbox, token, store)

    reason = check_tokens_at_start(manager)

    assert reason is not None and "revoked" in reason
    assert oauth.refresh_count == 1
    assert stored_access_token(store) == manager.access_token


def test_start_refreshes_after_clock_passes_expiry(sandbox, store: TokenStore) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token(access_ttl=DAY), store)
    sandbox.advance_clock(DAY + 60)

    reason = check_tokens_at_start(manager, now=time.time() + DAY + 60)

    assert reason is not None and "expired at" in reason
    assert oauth.refresh_count == 1


def test_start_fails_on_known_expired_refresh_token(sandbox, store: TokenStore) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token(access_ttl=DAY, refresh_ttl=2 * DAY), store)
    sandbox.advance_clock(3 * DAY)

    with pytest.raises(RefreshTokenError) as caught:
        check_tokens_at_start(manager, now=time.time() + 3 * DAY)

    assert "linkedin-audiences auth login" in str(caught.value)
    assert oauth.refresh_count == 0
    assert not store.exists()


def test_start_fails_on_refresh_token_expired_on_server(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token(access_ttl=DAY, refresh_ttl=2 * DAY)
    manager, oauth = token_manager(sandbox, token, store, with_expiry=False)
    sandbox.advance_clock(3 * DAY)

    with pytest.raises(RefreshTokenError) as caught:
        check_tokens_at_start(manager)

    assert "refresh token is expired" in str(caught.value)
    assert "linkedin-audiences auth login" in str(caught.value)
    assert oauth.refresh_count == 0
    assert not store.exists()


def test_start_fails_when_refresh_is_rejected(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token(access_ttl=DAY, refresh_ttl=2 * DAY)
    manager, oauth = token_manager(sandbox, token, store, with_expiry=False)
    manager.tokens.access_token_expires_at = time.time() - 1
    sandbox.advance_clock(3 * DAY)

    with pytest.raises(RefreshTokenError) as caught:
        check_tokens_at_start(manager, verify_with_server=False)

    assert "rejected (invalid_request)" in str(caught.value)
    assert "linkedin-audiences auth login" in str(caught.value)
    assert oauth.refresh_count == 1
    assert not store.exists()


def test_start_learns_expiry_from_introspection(sandbox) -> None:
    manager, oauth = token_manager(sandbox, sandbox.issue_token(access_ttl=600, refresh_ttl=20 * DAY),
                                   with_expiry=False)

    reason = check_tokens_at_start(manager, refresh_window_seconds=3600)

    assert reason is not None and "refresh window" in reason
    assert oauth.refresh_count == 1
    assert manager.tokens.refresh_token_expires_at is not None
    assert manager.tokens.refresh_token_expires_at < time.time() + 21 * DAY


def test_start_fails_on_revoked_refresh_token(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    manager, _ = token_manager(sandbox, token, store)

    with pytest.raises(RefreshTokenError, match="auth login"):
        check_tokens_at_start(manager)

    assert not store.exists()


def test_start_without_refresh_token_names_login(sandbox) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    manager, _ = token_manager(sandbox, {**token, "refresh_token": None})

    with pytest.raises(AuthenticationError, match="auth login"):
        check_tokens_at_start(manager)


def test_start_warns_refresh_token_expiring_soon(sandbox, caplog: pytest.LogCaptureFixture) -> None:
    token = sandbox.issue_token(refresh_ttl=20 * DAY, access_ttl=10 * DAY)
    manager, _ = token_manager(sandbox, token)

    with caplog.at_level(logging.WARNING, logger="target_linkedin_audiences"):
        check_tokens_at_start(manager)

    warning = [record.getMessage() for record in caplog.records if "refresh token expires" in record.getMessage()]
    assert len(warning) == 1
    assert "UTC" in warning[0]
    assert "auth login" in warning[0]
    assert_no_secrets(caplog.text, secrets_of(token))


def test_start_tolerates_unreachable_introspection(sandbox) -> None:
    token = sandbox.issue_token()
    manager, oauth = token_manager(sandbox, token)
    oauth.oauth_base_url = "http://127.0.0.1:9"

    assert check_tokens_at_start(manager) is None


# During a run


def test_client_refreshes_expired_token_mid_run(sandbox, store: TokenStore, caplog) -> None:
    token = sandbox.issue_token()
    manager, oauth = token_manager(sandbox, token, store)
    client = api_client(sandbox, manager)
    assert client.get("/rest/me")["id"]
    control(sandbox, "tokens/expire", {"token": token["access_token"]})

    with caplog.at_level(logging.DEBUG):
        assert client.get("/rest/me")["id"]

    assert oauth.refresh_count == 1
    assert manager.access_token != token["access_token"]
    assert stored_access_token(store) == manager.access_token
    assert_no_secrets(caplog.text, secrets_of(token, manager.tokens))


def test_client_refreshes_once_across_threads(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token()
    manager, oauth = token_manager(sandbox, token, store)
    client = api_client(sandbox, manager)
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(client.get("/rest/me")["id"])
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 8
    assert oauth.refresh_count == 1


def test_client_retries_65601_after_refresh(sandbox, store: TokenStore) -> None:
    manager, _ = token_manager(sandbox, sandbox.issue_token(), store)
    client = api_client(sandbox, manager)
    manager.refresh()
    control(sandbox, "faults", {"method": "GET", "path": "/rest/me", "status": 401, "count": 2, "body": REVOKED_BODY})
    started = time.monotonic()

    assert client.get("/rest/me")["id"]

    # Two delayed retries of 2 s each.
    assert time.monotonic() - started >= 3.5


def test_client_refreshes_once_on_65601(sandbox) -> None:
    token = sandbox.issue_token()
    manager, oauth = token_manager(sandbox, token)
    control(sandbox, "tokens/revoke", {"token": token["access_token"]})

    assert api_client(sandbox, manager).get("/rest/me")["id"]
    assert oauth.refresh_count == 1


def test_client_65601_with_dead_refresh_names_login(sandbox) -> None:
    token = sandbox.issue_token()
    manager, oauth = token_manager(sandbox, token)
    control(sandbox, "tokens/revoke", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    with pytest.raises(RefreshTokenError, match="linkedin-audiences auth login"):
        api_client(sandbox, manager).get("/rest/me")
    assert oauth.refresh_count == 1


def test_client_dead_refresh_token_mid_run(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token()
    manager, _ = token_manager(sandbox, token, store)
    client = api_client(sandbox, manager)
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    with pytest.raises(RefreshTokenError) as caught:
        client.get("/rest/me")

    assert "linkedin-audiences auth login" in str(caught.value)
    assert manager.access_token == token["access_token"]
    assert not store.exists()


def test_refreshed_token_saved_before_use(sandbox) -> None:
    token = sandbox.issue_token()
    base, _ = token_manager(sandbox, token)
    saved: list[TokenSet] = []

    def save(new_tokens: TokenSet) -> None:
        # The manager must still hand out the old token while the new one is being saved.
        assert managed.access_token == token["access_token"]
        saved.append(new_tokens)

    managed = TokenManager(base.tokens, base.oauth, on_refresh=save)
    new_token = managed.refresh()

    assert len(saved) == 1
    assert saved[0].access_token == new_token


def test_failed_save_keeps_old_token(sandbox) -> None:
    token = sandbox.issue_token()
    base, _ = token_manager(sandbox, token)

    def fail(_tokens: TokenSet) -> None:
        raise ConfigError("disk full")

    managed = TokenManager(base.tokens, base.oauth, on_refresh=fail)
    with pytest.raises(ConfigError):
        managed.refresh()

    assert managed.access_token == token["access_token"]


def test_start_fails_on_invalid_grant(sandbox, store: TokenStore) -> None:
    token = sandbox.issue_token(access_ttl=60)
    manager, oauth = token_manager(sandbox, token, store)
    control(sandbox, "faults", {"method": "POST", "path": "/oauth/v2/accessToken", "status": 400, "count": 1,
                                "body": {"error": "invalid_grant", "error_description": "expired"}})

    with pytest.raises(RefreshTokenError) as caught:
        check_tokens_at_start(manager)

    assert "rejected (invalid_grant)" in str(caught.value)
    assert "linkedin-audiences auth login" in str(caught.value)
    assert oauth.refresh_count == 1
    assert not store.exists()
