"""The `linkedin-audiences sandbox` commands, and the consent flow in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from click.testing import CliRunner
from sandbox_helpers import VERSION

from target_linkedin_audiences.cli import main

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def cli_executable() -> str:
    found = Path(sys.executable).parent / "linkedin-audiences"
    return str(found) if found.exists() else shutil.which("linkedin-audiences")


class ServeProcess:
    """`linkedin-audiences sandbox serve` in a subprocess, with its URL read from the log line."""

    def __init__(self, db_path: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            [cli_executable(), "sandbox", "serve", "--port", "0", "--db", str(db_path), *extra],
            stderr=subprocess.PIPE, text=True,
        )
        self.log_lines: list[str] = []
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        timer = threading.Timer(20, self.process.kill)
        timer.start()
        try:
            for line in self.process.stderr:
                self.log_lines.append(line)
                match = LISTENING.search(line)
                if match:
                    return match.group(1)
        finally:
            timer.cancel()
        raise AssertionError(f"sandbox serve exited without its URL line: {self.log_lines}")

    def stop(self) -> str:
        """Interrupt the server as Ctrl-C would; return the rest of its log."""
        self.process.send_signal(signal.SIGINT)
        _, rest = self.process.communicate(timeout=20)
        return rest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    server = ServeProcess(tmp_path_factory.mktemp("serve") / "sandbox.db")
    yield server
    if server.process.poll() is None:
        server.stop()


def test_token_command_prints_token_json(tmp_path):
    result = CliRunner().invoke(main, ["sandbox", "token", "--db", str(tmp_path / "s.db"), "--access-ttl", "600"])

    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert {"access_token", "refresh_token", "expires_in", "refresh_token_expires_in"} <= set(body)
    assert body["expires_in"] == 600
    assert body["refresh_token_expires_in"] == 31_536_000


def test_token_command_rejects_unknown_scope(tmp_path):
    result = CliRunner().invoke(main, ["sandbox", "token", "--db", str(tmp_path / "s.db"), "--scope", "w_everything"])

    assert result.exit_code == 2
    assert "--scope" in result.output


def test_serve_rejects_non_loopback_host(tmp_path):
    result = CliRunner().invoke(main, ["sandbox", "serve", "--host", "0.0.0.0", "--db", str(tmp_path / "s.db")])

    assert result.exit_code == 2
    assert "loopback" in result.output


def test_serve_logs_url_and_accepts_cli_token(served, tmp_path):
    db_path = Path(served.process.args[served.process.args.index("--db") + 1])
    result = CliRunner().invoke(main, ["sandbox", "token", "--db", str(db_path)])
    token = json.loads(result.output)["access_token"]

    response = requests.get(f"{served.url}/rest/adAccountUsers?q=authenticatedUser", timeout=10, headers={
        "Authorization": f"Bearer {token}", "LinkedIn-Version": VERSION, "X-Restli-Protocol-Version": "2.0.0"})

    assert response.status_code == 200
    assert len(response.json()["elements"]) == 4
    assert not any(token in line for line in served.log_lines)


def test_serve_stops_cleanly_on_interrupt(tmp_path):
    server = ServeProcess(tmp_path / "s.db", "--accounts", "3")

    rest = server.stop()

    assert server.process.returncode == 0
    assert "stopped" in rest


class _Callback(BaseHTTPRequestHandler):
    """A loopback redirect target that records the query of each request to /callback."""

    queries: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's method name
        url = urlsplit(self.path)
        if url.path == "/callback":
            type(self).queries.append(parse_qs(url.query))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"signed in")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def callback_server() -> Iterator[HTTPServer]:
    _Callback.queries = []
    server = HTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing; CI must install it (apt-get install -y chromium)")
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def authorization_url(base_url: str, redirect_uri: str) -> str:
    params = {"response_type": "code", "client_id": "sandbox-client-id", "redirect_uri": redirect_uri,
              "scope": "r_ads rw_dmp_segments r_basicprofile", "state": "st4te-from-test"}
    return f"{base_url}/oauth/v2/authorization?{urlencode(params)}"


@pytest.mark.browser
def test_browser_allow_redirects_with_code(served, callback_server, browser):
    redirect_uri = f"http://127.0.0.1:{callback_server.server_port}/callback"
    page = browser.new_page()

    page.goto(authorization_url(served.url, redirect_uri))
    app_name = page.text_content("#app-name")
    scopes = page.locator("#scopes li").all_text_contents()
    page.click("#allow")
    page.wait_for_url(f"{redirect_uri}?*")

    assert app_name == "Sandbox Audiences App"
    assert len(scopes) == 3
    assert page.text_content("body") == "signed in"
    [query] = _Callback.queries
    assert query["state"] == ["st4te-from-test"]
    token = requests.post(f"{served.url}/oauth/v2/accessToken", timeout=10, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": redirect_uri,
        "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"})
    assert token.status_code == 200


@pytest.mark.browser
def test_browser_cancel_redirects_with_error(served, callback_server, browser):
    redirect_uri = f"http://localhost:{callback_server.server_port}/callback"
    page = browser.new_page()

    page.goto(authorization_url(served.url, redirect_uri))
    page.click("#cancel")
    page.wait_for_url(f"{redirect_uri}?*")

    [query] = _Callback.queries
    assert query["error"] == ["user_cancelled_authorize"]
    assert query["state"] == ["st4te-from-test"]
    assert "code" not in query


def test_serve_reports_busy_port(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["sandbox", "serve", "--port", str(port), "--db", str(tmp_path / "s.db")])

    assert result.exit_code == 1
    assert f"Could not serve on 127.0.0.1:{port}" in result.output
