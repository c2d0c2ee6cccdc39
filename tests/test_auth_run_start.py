"""Tokens at the start of a run: `open_connection` loads the store, `start_run_token_checks` checks."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from test_auth_support import assert_no_secrets, control, sandbox_config, secrets_of

from target_linkedin_audiences.auth import TokenSet
from target_linkedin_audiences.connection import open_connection
from target_linkedin_audiences.errors import RefreshTokenError
from target_linkedin_audiences.heartbeat import start_run_token_checks
from target_linkedin_audiences.token_store import TokenStore, config_tokens_fingerprint

DAY = 86400


def run_config(sandbox, tmp_path: Path, token: dict, **overrides) -> dict:
    settings = {
        "access_token": token["access_token"],
        "refresh_token": token["refresh_token"],
        "heartbeat_interval_seconds": 0,
        **overrides,
    }
    return sandbox_config(sandbox, tmp_path, **settings)


def test_run_start_refreshes_expired_token_and_stores_it(sandbox, tmp_path: Path, caplog) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    config = run_config(sandbox, tmp_path, token)

    connection = open_connection(config)
    try:
        with caplog.at_level(logging.DEBUG):
            heartbeat = start_run_token_checks(connection, config)
        assert connection.client is not None
        assert connection.client.get("/rest/me")["id"]
    finally:
        connection.close()

    assert heartbeat is None
    stored = TokenStore(config["token_store_path"]).load()
    assert stored is not None
    assert stored.tokens.access_token != token["access_token"]
    assert stored.config_tokens_sha256 == config_tokens_fingerprint(token["access_token"], token["refresh_token"])
    assert_no_secrets(caplog.text, secrets_of(token, stored.tokens))


def test_next_run_uses_the_stored_tokens(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    config = run_config(sandbox, tmp_path, token)
    first = open_connection(config)
    start_run_token_checks(first, config)
    first.close()

    second = open_connection(config)
    try:
        assert second.token_source == "store"
        assert second.tokens is not None
        assert second.tokens.access_token != token["access_token"]
        assert start_run_token_checks(second, config) is None
    finally:
        second.close()


def test_new_config_tokens_win_over_old_store(sandbox, tmp_path: Path) -> None:
    old = sandbox.issue_token()
    TokenStore(tmp_path / "tokens.json").save(
        TokenSet.from_token_response(old),
        config_tokens_sha256=config_tokens_fingerprint("earlier", "earlier"),
    )
    new = sandbox.issue_token()

    connection = open_connection(run_config(sandbox, tmp_path, new))
    try:
        assert connection.token_source == "config"
        assert connection.tokens is not None
        assert connection.tokens.access_token == new["access_token"]
    finally:
        connection.close()


def test_run_start_fails_on_expired_refresh_token(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token(access_ttl=DAY, refresh_ttl=2 * DAY)
    sandbox.advance_clock(3 * DAY)
    config = run_config(sandbox, tmp_path, token)

    connection = open_connection(config)
    try:
        with pytest.raises(RefreshTokenError) as caught:
            start_run_token_checks(connection, config)
    finally:
        connection.close()

    assert "linkedin-audiences auth login" in str(caught.value)
    assert_no_secrets(str(caught.value), secrets_of(token))
    assert not Path(config["token_store_path"]).exists()


def test_run_start_fails_on_revoked_refresh_token(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})
    config = run_config(sandbox, tmp_path, token)

    connection = open_connection(config)
    try:
        with pytest.raises(RefreshTokenError, match="auth login"):
            start_run_token_checks(connection, config)
    finally:
        connection.close()


def test_run_start_starts_heartbeat(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    config = run_config(sandbox, tmp_path, token, heartbeat_interval_seconds=0.2)

    connection = open_connection(config)
    try:
        heartbeat = start_run_token_checks(connection, config)
        assert heartbeat is not None
        deadline = time.monotonic() + 10
        while heartbeat.checks < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        heartbeat.stop()
    finally:
        connection.close()

    assert heartbeat.checks >= 2
    heartbeat.raise_if_dead()


def test_embedded_sandbox_keeps_tokens_beside_its_database(tmp_path: Path) -> None:
    config = {"sandbox": True, "sandbox_db_path": str(tmp_path / "sandbox" / "sandbox.db")}

    connection = open_connection(config)
    try:
        assert connection.token_store is not None
        assert connection.token_store.path == tmp_path / "sandbox" / "tokens.json"
        assert connection.token_source == "sandbox"
        assert connection.tokens is not None
        connection.tokens.refresh()
    finally:
        connection.close()

    assert (tmp_path / "sandbox" / "tokens.json").exists()
