"""`linkedin-audiences auth` login, status, refresh and heartbeat against the sandbox."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import typing as t
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner
from test_auth_support import assert_no_secrets, control, sandbox_config, secrets_of

from target_linkedin_audiences.cli import main
from target_linkedin_audiences.errors import EXIT_AUTH, EXIT_CONFIG
from target_linkedin_audiences.token_store import (
    MELTANO_STORE_RELATIVE_PATH,
    STORE_KEYS,
    TOKEN_STORE_FILENAME,
    TokenStore,
)

# The installed console script, as a person would run it.
CLI = [str(Path(sys.executable).parent / "linkedin-audiences")]


def clean_environment(**extra: str) -> dict[str, str]:
    """The test process's environment without Meltano's or the target's settings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TARGET_LINKEDIN_AUDIENCES_", "MELTANO_"))
    }
    environment.update(extra)
    return environment


def write_config(tmp_path: Path, config: dict[str, t.Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def config_file(sandbox, tmp_path: Path) -> Path:
    config = sandbox_config(sandbox, tmp_path)
    del config["token_store_path"]
    return write_config(tmp_path, config)


class LoginProcess:
    """`auth login --no-browser` in a subprocess, with the authorization URL it printed."""

    def __init__(self, config_file: Path, *extra: str) -> None:
        command = [*CLI, "auth", "login", "--no-browser", "--config", str(config_file), *extra]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_environment(),
        )
        assert self.process.stdout is not None
        first_line = self.process.stdout.readline()
        assert "to sign in" in first_line, first_line
        self.url = self.process.stdout.readline().strip()
        self.query = {name: values[0] for name, values in parse_qs(urlsplit(self.url).query).items()}

    @property
    def redirect_uri(self) -> str:
        return self.query["redirect_uri"]

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        stdout, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout, stderr


def decide(sandbox, login: LoginProcess, decision: str, **overrides: str) -> requests.Response:
    """Press Allow or Cancel on the sandbox's consent page, as the browser form would."""
    form = {name: login.query[name] for name in ("response_type", "client_id", "redirect_uri", "scope", "state")}
    form.update(overrides)
    form["decision"] = decision
    return requests.post(f"{sandbox.url}/oauth/v2/authorization", data=form, timeout=30)


def run_cli(*args: str, env: dict[str, str] | None = None) -> t.Any:
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


# login


def test_login_allow_stores_tokens(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file)

    page = decide(sandbox, login, "allow")
    code, stdout, stderr = login.finish()

    assert page.status_code == 200
    assert "Signed in" in page.text
    assert code == 0, stderr
    store_path = config_file.parent / TOKEN_STORE_FILENAME
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    stored = json.loads(store_path.read_text())
    assert set(stored) == set(STORE_KEYS)
    assert stored["access_token"] and stored["refresh_token"]
    assert stored["access_token_expires_at"] > time.time() + 59 * 86400
    assert stored["refresh_token_expires_at"] > time.time() + 364 * 86400
    assert "Signed in as LinkedIn member urn:li:person:" in stdout
    assert "Granted scopes: r_ads, rw_dmp_segments, r_basicprofile" in stdout
    assert "Access token expires:" in stdout
    assert "Refresh token expires:" in stdout
    assert_no_secrets(stdout + stderr, [stored["access_token"], stored["refresh_token"]])


def test_login_url_has_scopes_and_unguessable_state(sandbox, config_file: Path) -> None:
    first = LoginProcess(config_file, "--scope", "r_ads", "--scope", "rw_dmp_segments", "--timeout", "5")
    second = LoginProcess(config_file, "--timeout", "5")
    try:
        assert "scope=r_ads%20rw_dmp_segments&" in first.url + "&"
        assert first.query["response_type"] == "code"
        assert urlsplit(first.redirect_uri).hostname == "127.0.0.1"
        assert urlsplit(first.redirect_uri).path == "/callback"
        assert len(first.query["state"]) >= 40
        assert first.query["state"] != second.query["state"]
        assert second.query["scope"] == "r_ads rw_dmp_segments r_basicprofile"
    finally:
        for login in (first, second):
            login.process.kill()
            login.finish()


def test_login_cancel_stores_nothing(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file)

    page = decide(sandbox, login, "cancel")
    code, _, stderr = login.finish()

    assert page.status_code == 400
    assert "Sign-in failed" in page.text
    assert code == EXIT_AUTH
    assert "cancelled" in stderr
    assert "nothing was stored" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_login_tampered_state_stores_nothing(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file)

    page = decide(sandbox, login, "allow", state=login.query["state"][:-4] + "AAAA")
    code, _, stderr = login.finish()

    assert page.status_code == 400
    assert code == EXIT_AUTH
    assert "state that does not match" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_login_wrong_redirect_path_stores_nothing(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file)
    parts = urlsplit(login.redirect_uri)

    favicon = requests.get(f"http://127.0.0.1:{parts.port}/favicon.ico", timeout=10)
    wrong = requests.get(
        f"http://127.0.0.1:{parts.port}/elsewhere",
        params={"code": "x", "state": login.query["state"]},
        timeout=10,
    )
    code, _, stderr = login.finish()

    assert favicon.status_code == 404
    assert wrong.status_code == 400
    assert code == EXIT_AUTH
    assert "arrived at /elsewhere" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_login_redirect_without_code_stores_nothing(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file)

    response = requests.get(login.redirect_uri, params={"state": login.query["state"]}, timeout=10)
    code, _, stderr = login.finish()

    assert response.status_code == 400
    assert code == EXIT_AUTH
    assert "no authorization code" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_login_forged_code_stores_nothing(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file)

    response = requests.get(login.redirect_uri, params={"state": login.query["state"], "code": "forged"}, timeout=10)
    code, _, stderr = login.finish()

    assert response.status_code == 400
    assert code == EXIT_AUTH
    assert "exchanging the authorization code failed" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_login_timeout_stores_nothing(sandbox, config_file: Path) -> None:
    login = LoginProcess(config_file, "--timeout", "1")

    code, _, stderr = login.finish()

    assert code == EXIT_AUTH
    assert "no OAuth redirect arrived within 1 s" in stderr
    assert "redirect_uri" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_login_busy_port_fails(sandbox, config_file: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = run_cli("auth", "login", "--no-browser", "--config", str(config_file), "--port", str(port))

    assert result.exit_code == EXIT_AUTH
    assert "could not listen" in result.output


def test_login_needs_client_credentials(sandbox, tmp_path: Path) -> None:
    config = write_config(tmp_path, {"oauth_base_url": sandbox.url})

    result = run_cli("auth", "login", "--no-browser", "--config", str(config))

    assert result.exit_code == EXIT_CONFIG
    assert "client_id and client_secret" in result.output


# status, refresh, heartbeat


def store_token(tmp_path: Path, token: dict) -> TokenStore:
    from target_linkedin_audiences.auth import TokenSet

    store = TokenStore(tmp_path / TOKEN_STORE_FILENAME)
    store.save(TokenSet.from_token_response(token))
    return store


def test_status_valid_token(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    store_token(tmp_path, token)

    result = run_cli("auth", "status", "--config", str(config_file))

    assert result.exit_code == 0, result.output
    assert "Token source:  store" in result.output
    assert "Access token:  active" in result.output
    assert "days left" in result.output
    assert "Status:        valid" in result.output
    assert_no_secrets(result.output, secrets_of(token))


@pytest.mark.parametrize("action", ["expire", "revoke"])
def test_status_dead_access_token(sandbox, config_file: Path, tmp_path: Path, action: str) -> None:
    token = sandbox.issue_token()
    store_token(tmp_path, token)
    control(sandbox, f"tokens/{action}", {"token": token["access_token"]})

    result = run_cli("auth", "status", "--config", str(config_file))

    assert result.exit_code == EXIT_AUTH
    assert f"Access token:  {action}d" in result.output
    assert "NOT VALID" in result.output


def test_status_reports_refresh_token_revoked(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    store_token(tmp_path, token)
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    result = run_cli("auth", "status", "--config", str(config_file))

    assert "Refresh token: revoked" in result.output


def test_status_both_revoked_names_login(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    store_token(tmp_path, token)
    control(sandbox, "tokens/revoke", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    result = run_cli("auth", "status", "--config", str(config_file))

    assert result.exit_code == EXIT_AUTH
    assert "Refresh token: revoked" in result.output
    assert "linkedin-audiences auth login" in result.output
    assert "auth refresh" not in result.output


def test_status_without_tokens(sandbox, config_file: Path) -> None:
    result = run_cli("auth", "status", "--config", str(config_file))

    assert result.exit_code == EXIT_AUTH
    assert "linkedin-audiences auth login" in result.output


def test_refresh_updates_store(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    store = store_token(tmp_path, token)

    result = run_cli("auth", "refresh", "--config", str(config_file))

    assert result.exit_code == 0, result.output
    loaded = store.load()
    assert loaded is not None
    assert loaded.tokens.access_token != token["access_token"]
    assert loaded.tokens.refresh_token == token["refresh_token"]
    assert "Refreshed the access token" in result.output
    assert_no_secrets(result.output, secrets_of(token, loaded.tokens))


def test_refresh_with_revoked_refresh_token(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    store = store_token(tmp_path, token)
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    result = run_cli("auth", "refresh", "--config", str(config_file))

    assert result.exit_code == EXIT_AUTH
    assert "linkedin-audiences auth login" in result.output
    loaded = store.load()
    assert loaded is not None and loaded.tokens.access_token == token["access_token"]
    assert_no_secrets(result.output, secrets_of(token))


def test_refresh_with_expired_refresh_token(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token(access_ttl=60, refresh_ttl=120)
    store_token(tmp_path, token)
    sandbox.advance_clock(300)

    result = run_cli("auth", "refresh", "--config", str(config_file))

    assert result.exit_code == EXIT_AUTH
    assert "rejected (invalid_request)" in result.output


def test_heartbeat_counts_checks(sandbox, config_file: Path, tmp_path: Path) -> None:
    store_token(tmp_path, sandbox.issue_token())

    result = run_cli("auth", "heartbeat", "--interval", "1", "--count", "2", "--config", str(config_file))

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if " heartbeat " in line]
    assert len(lines) == 2
    assert all(": valid " in line for line in lines)


def test_heartbeat_exits_3_when_token_dies(sandbox, config_file: Path, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    store_token(tmp_path, token)
    control(sandbox, "tokens/expire", {"token": token["access_token"]})
    control(sandbox, "tokens/revoke", {"token": token["refresh_token"]})

    result = run_cli("auth", "heartbeat", "--interval", "1", "--count", "5", "--config", str(config_file))

    assert result.exit_code == EXIT_AUTH
    assert "heartbeat 1: dead" in result.output
    assert "linkedin-audiences auth login" in result.output
    assert_no_secrets(result.output, secrets_of(token))


def test_meltano_environment_uses_project_store(sandbox, tmp_path: Path) -> None:
    token = sandbox.issue_token()
    env = {
        "MELTANO_PROJECT_ROOT": str(tmp_path),
        "TARGET_LINKEDIN_AUDIENCES_API_BASE_URL": sandbox.url,
        "TARGET_LINKEDIN_AUDIENCES_OAUTH_BASE_URL": sandbox.url,
        "TARGET_LINKEDIN_AUDIENCES_CLIENT_ID": "sandbox-client-id",
        "TARGET_LINKEDIN_AUDIENCES_CLIENT_SECRET": "sandbox-client-secret",
        "TARGET_LINKEDIN_AUDIENCES_ACCESS_TOKEN": token["access_token"],
        "TARGET_LINKEDIN_AUDIENCES_REFRESH_TOKEN": token["refresh_token"],
    }

    refreshed = run_cli("auth", "refresh", env=env)
    status = run_cli("auth", "status", env=env)

    assert refreshed.exit_code == 0, refreshed.output
    store_path = tmp_path / MELTANO_STORE_RELATIVE_PATH
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    assert status.exit_code == 0, status.output
    assert "Token source:  store" in status.output
