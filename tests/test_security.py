"""Security checks: file modes, TLS verification, the OAuth redirect listener, and a scan of every
output that the fault and bad-input tests produced.

`test_whole_session_outputs_clean` must stay the last test of the last file of these suites
(pytest runs `test_bad_input*`, `test_faults*` and then `test_security*`), because it scans what
the earlier tests collected.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from target_linkedin_audiences.auth import OAuthClient
from target_linkedin_audiences.consent import run_loopback_login
from target_linkedin_audiences.settings import CONFIG_SCHEMA
from target_linkedin_audiences.token_store import TOKEN_STORE_FILENAME
from tests.fault_helpers import (
    COLLECTED_OUTPUTS,
    SESSION_SECRETS,
    assert_text_clean,
    contact_input,
    digests,
    emails_for,
    expire_token,
    fault_config,
    run_checked,
    segment_digests,
)
from tests.target_helpers import REPO

PRODUCT = REPO / "target_linkedin_audiences"
# Ways a Python program turns certificate checks off.
TLS_DISABLING_PATTERNS = [
    r"verify\s*=\s*False",
    r"\.verify\s*=\s*(False|0|None)\b",
    r"CERT_NONE",
    r"check_hostname\s*=\s*False",
    r"_create_unverified_context",
    r"disable_warnings",
    r"PYTHONHTTPSVERIFY",
    r"CURL_CA_BUNDLE",
]


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# File modes


def test_token_store_and_rejects_mode_0600(sandbox, sandbox_token, tmp_path):
    emails = emails_for("modes", 2)
    expire_token(sandbox, sandbox_token["access_token"])
    config = fault_config(sandbox, sandbox_token, tmp_path)
    run = run_checked(sandbox, config, contact_input([*emails, "not-an-email"], state={"b": 1}), tmp_path,
                      secrets=emails)

    assert run.returncode == 0, run.stderr
    assert "Refreshed the LinkedIn access token" in run.stderr
    store = tmp_path / TOKEN_STORE_FILENAME
    assert file_mode(store) == 0o600
    assert json.loads(store.read_text())["access_token"] != sandbox_token["access_token"]
    for path in tmp_path.glob(TOKEN_STORE_FILENAME + "*"):
        assert file_mode(path) == 0o600, f"{path.name} has mode {file_mode(path):o}"
    assert file_mode(run.reject_path) == 0o600
    assert segment_digests(sandbox, sandbox.issue_token()) == digests(emails)


def test_ledger_mode_0600_and_hashed(sandbox, sandbox_token, tmp_path):
    if "ledger_path" not in CONFIG_SCHEMA["properties"]:
        pytest.skip("the target has no ledger_path setting yet (mirror sync is not merged)")
    emails = emails_for("ledger", 3)
    ledger = tmp_path / "state" / "ledger.sqlite"
    config = fault_config(sandbox, sandbox_token, tmp_path, ledger_path=str(ledger))
    run = run_checked(sandbox, config, contact_input(emails, state={"b": 2}), tmp_path, secrets=emails)

    assert run.returncode == 0, run.stderr
    assert ledger.exists()
    assert file_mode(ledger) == 0o600
    with sqlite3.connect(ledger) as connection:
        dump = "\n".join(connection.iterdump())
    assert_text_clean("ledger", dump, [*emails, sandbox_token["access_token"], sandbox_token["refresh_token"]])
    assert any(digest in dump for digest in digests(emails))


# TLS


def test_product_source_never_disables_tls():
    offenders = []
    for path in sorted(PRODUCT.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if any(re.search(pattern, line) for pattern in TLS_DISABLING_PATTERNS):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


PATCH_SENDS = """
import json, os, runpy, sys
import requests.adapters

_send = requests.adapters.HTTPAdapter.send

def send(self, request, **kwargs):
    with open(os.environ["VERIFY_LOG"], "a") as log:
        log.write(json.dumps({"url": request.url.split("?")[0], "verify": kwargs.get("verify")}) + "\\n")
    return _send(self, request, **kwargs)

requests.adapters.HTTPAdapter.send = send
sys.argv = ["target-linkedin-audiences", "--config", sys.argv[1]]
runpy.run_module("target_linkedin_audiences.target", run_name="__main__", alter_sys=True)
"""


def test_every_request_verifies_tls(sandbox, sandbox_token, tmp_path):
    emails = emails_for("tls", 2)
    # An expired access token makes the run call the OAuth token endpoint as well as the API.
    expire_token(sandbox, sandbox_token["access_token"])
    config_path = tmp_path / "config-tls.json"
    config_path.write_text(json.dumps(fault_config(sandbox, sandbox_token, tmp_path)))
    verify_log = tmp_path / "verify-log.jsonl"

    process = subprocess.run(
        [sys.executable, "-c", PATCH_SENDS, str(config_path)],
        input=contact_input(emails, state={"b": 3}).encode(),
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "VERIFY_LOG": str(verify_log)},
        check=False,
    )

    assert process.returncode == 0, process.stderr.decode()
    sends = [json.loads(line) for line in verify_log.read_text().splitlines()]
    assert any(send["url"].endswith("/oauth/v2/accessToken") for send in sends)
    assert any(send["url"].endswith("/users") for send in sends)
    # `verify` is True, or the CA bundle path that requests takes from REQUESTS_CA_BUNDLE.
    unverified = [send for send in sends if not (send["verify"] is True or (
        isinstance(send["verify"], str) and Path(send["verify"]).exists()))]
    assert unverified == []


# The OAuth redirect listener


def listening_addresses(port: int) -> list[str]:
    """Return the local IPv4 and IPv6 addresses listening on TCP `port`, as hex from /proc."""
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            next(handle)
            for row in handle:
                fields = row.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if int(port_hex, 16) == port and fields[3] == "0A":
                    addresses.append(address)
    return addresses


def test_oauth_callback_loopback_single_use(sandbox):
    urls: queue.Queue[str] = queue.Queue()
    outcome: dict = {}
    oauth = OAuthClient(sandbox.url, sandbox.client_id, sandbox.client_secret)

    def login() -> None:
        try:
            outcome["result"] = run_loopback_login(
                oauth, scopes=["r_ads", "rw_dmp_segments"], open_browser=False, show_url=urls.put, timeout_seconds=30
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=login, daemon=True)
    thread.start()
    query = {name: values[0] for name, values in parse_qs(urlsplit(urls.get(timeout=10)).query).items()}
    redirect = urlsplit(query["redirect_uri"])
    port = redirect.port

    assert redirect.hostname == "127.0.0.1"
    # 0100007F is 127.0.0.1 in /proc's byte order. Nothing else may listen on the port.
    assert listening_addresses(port) == ["0100007F"]

    # An unrelated request (a browser's favicon) gets a 404 and the listener keeps waiting.
    favicon = requests.get(f"http://127.0.0.1:{port}/favicon.ico", timeout=10)
    assert favicon.status_code == 404
    assert thread.is_alive()

    form = {name: query[name] for name in ("response_type", "client_id", "redirect_uri", "scope", "state")}
    page = requests.post(f"{sandbox.url}/oauth/v2/authorization", data={**form, "decision": "allow"}, timeout=30)
    thread.join(timeout=30)

    assert page.status_code == 200
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].tokens.access_token
    assert listening_addresses(port) == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_oauth_callback_rejects_wrong_state(sandbox):
    urls: queue.Queue[str] = queue.Queue()
    outcome: dict = {}
    oauth = OAuthClient(sandbox.url, sandbox.client_id, sandbox.client_secret)

    def login() -> None:
        try:
            outcome["result"] = run_loopback_login(oauth, scopes=["r_ads"], open_browser=False, show_url=urls.put,
                                                   timeout_seconds=30)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=login, daemon=True)
    thread.start()
    query = {name: values[0] for name, values in parse_qs(urlsplit(urls.get(timeout=10)).query).items()}
    port = urlsplit(query["redirect_uri"]).port

    forged = requests.get(f"http://127.0.0.1:{port}/callback", params={"code": "forged", "state": "wrong"}, timeout=10)
    thread.join(timeout=30)

    assert forged.status_code == 400
    assert "does not match" in str(outcome["error"])
    assert "result" not in outcome
    assert listening_addresses(port) == []


# The scan of the whole session, which must stay last.


def test_whole_session_outputs_clean():
    if not COLLECTED_OUTPUTS:
        pytest.skip("no target run was collected; run this file together with the fault and bad-input tests")
    names = {output.name for output in COLLECTED_OUTPUTS}
    assert {"stdout", "stderr", "sandbox request log", "rejects.jsonl"} <= names
    secrets = sorted(secret for secret in SESSION_SECRETS if len(secret) >= 6)
    for output in COLLECTED_OUTPUTS:
        checked = secrets
        if output.name == TOKEN_STORE_FILENAME:
            checked = [secret for secret in secrets if "@" in secret]
        assert_text_clean(f"{output.test}: {output.name}", output.text, checked)
