"""The consent flow in headless Chromium: `auth login --no-browser`, then Allow or Cancel on the page."""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from test_auth_cli import LoginProcess, write_config
from test_auth_support import assert_no_secrets, sandbox_config

from target_linkedin_audiences.errors import EXIT_AUTH
from target_linkedin_audiences.token_store import STORE_KEYS, TOKEN_STORE_FILENAME

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None and not os.environ.get("CI"),
        reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def config_file(sandbox, tmp_path: Path) -> Path:
    config = sandbox_config(sandbox, tmp_path)
    del config["token_store_path"]
    return write_config(tmp_path, config)


def test_browser_allow_stores_tokens(sandbox, config_file: Path, page) -> None:
    login = LoginProcess(config_file)

    page.goto(login.url)
    scopes = page.locator("#scopes li").evaluate_all("items => items.map(item => item.dataset.scope)")
    page.click("#allow")
    page.wait_for_selector("#result")
    heading = page.text_content("#result")
    code, stdout, stderr = login.finish()

    assert scopes == ["r_ads", "rw_dmp_segments", "r_basicprofile"]
    assert heading == "Signed in"
    assert code == 0, stderr
    store_path = config_file.parent / TOKEN_STORE_FILENAME
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    stored = json.loads(store_path.read_text())
    assert set(stored) == set(STORE_KEYS)
    assert stored["access_token"].startswith("AQV")
    assert stored["refresh_token"].startswith("AQX")
    assert stored["access_token_expires_at"] > time.time()
    assert stored["refresh_token_expires_at"] > stored["access_token_expires_at"]
    assert stored["scope"] == "r_ads rw_dmp_segments r_basicprofile"
    assert "Signed in as LinkedIn member urn:li:person:" in stdout
    assert_no_secrets(stdout + stderr + page.content(), [stored["access_token"], stored["refresh_token"]])


def test_browser_cancel_stores_nothing(sandbox, config_file: Path, page) -> None:
    login = LoginProcess(config_file)

    page.goto(login.url)
    page.click("#cancel")
    page.wait_for_selector("#result")
    heading = page.text_content("#result")
    message = page.text_content("#message")
    code, _, stderr = login.finish()

    assert heading == "Sign-in failed"
    assert "cancelled" in (message or "")
    assert code == EXIT_AUTH
    assert "cancelled" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()


def test_browser_tampered_state_stores_nothing(sandbox, config_file: Path, page) -> None:
    login = LoginProcess(config_file)
    tampered_url = login.url.replace(login.query["state"], "forged-state-value")

    page.goto(tampered_url)
    page.click("#allow")
    page.wait_for_selector("#result")
    heading = page.text_content("#result")
    code, _, stderr = login.finish()

    assert heading == "Sign-in failed"
    assert code == EXIT_AUTH
    assert "state that does not match" in stderr
    assert not (config_file.parent / TOKEN_STORE_FILENAME).exists()
