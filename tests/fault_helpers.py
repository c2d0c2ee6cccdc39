"""Shared pieces of the fault, bad-input and security tests.

Every target run of those files goes through `run_checked`. It asserts that no plaintext email,
name or token reached stdout, stderr, the reject file, any other file the run wrote, or the
sandbox's request log. It also keeps those outputs in `COLLECTED_OUTPUTS`, so that the last
security test scans the outputs of the whole session against every secret seen in it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import stat
import subprocess
import time
import typing as t
from pathlib import Path

import requests

from target_linkedin_audiences.token_store import TOKEN_STORE_FILENAME
from tests.target_helpers import (
    TargetRun,
    run_target,
    sandbox_members,
    sandbox_requests,
    segments_of_account,
    sha256_email,
    singer_lines,
    start_target,  # noqa: F401 (the fault tests import it from here)
    target_config,
)

CONTACT_SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": ["string", "null"]}}}
USERS_PATH = "/rest/dmpSegments/*/users"
SQLITE_SUFFIXES = {".db", ".sqlite"}
# Fast retry settings: a fault test ends in seconds even when every attempt fails.
FAST_RETRY = {"max_retry_attempts": 4, "max_retry_seconds": 10, "request_timeout_seconds": 2}


@dataclasses.dataclass
class CollectedOutput:
    """One output of one run, kept for the whole-session scan."""

    test: str
    name: str
    text: str


COLLECTED_OUTPUTS: list[CollectedOutput] = []
SESSION_SECRETS: set[str] = set()


def fault_config(sandbox: t.Any, token: dict, tmp_path: Path, **overrides: t.Any) -> dict:
    """Target config with fast retries, pointed at the sandbox."""
    return target_config(sandbox, token, tmp_path, **{**FAST_RETRY, **overrides})


def contact_records(emails: t.Sequence[str | None]) -> list[dict]:
    return [{"id": str(index), "email": email} for index, email in enumerate(emails)]


def contact_input(emails: t.Sequence[str | None], *, state: dict | None = None) -> str:
    return singer_lines("contacts", CONTACT_SCHEMA, contact_records(emails), key_properties=["id"], state=state)


def contact_input_with_states(emails: t.Sequence[str]) -> str:
    """One RECORD then one STATE `{"bookmark": i}` per email, as an incremental tap writes them."""
    lines = [json.dumps({"type": "SCHEMA", "stream": "contacts", "schema": CONTACT_SCHEMA, "key_properties": ["id"]})]
    for index, email in enumerate(emails):
        lines.append(json.dumps({"type": "RECORD", "stream": "contacts", "record": {"id": str(index), "email": email}}))
        lines.append(json.dumps({"type": "STATE", "value": {"bookmark": index}}))
    return "\n".join(lines) + "\n"


def emails_for(tag: str, count: int) -> list[str]:
    return [f"{tag}.person{index}@example.com" for index in range(count)]


def segment_digests(sandbox: t.Any, token: dict, name: str = "contacts") -> set[str]:
    """Return the first `idValue` of every member of the segment called `name`, or an empty set."""
    matches = [s for s in segments_of_account(sandbox, token, sandbox.default_account_id) if s["name"] == name]
    assert len(matches) <= 1, f"expected at most one segment named {name!r}, found {len(matches)}"
    if not matches:
        return set()
    return {member["userIds"][0]["idValue"] for member in sandbox_members(sandbox, matches[0]["id"])}


def digests(emails: t.Iterable[str]) -> set[str]:
    return {sha256_email(email) for email in emails}


def member_requests(sandbox: t.Any) -> list[dict]:
    """Return the logged `POST .../users` requests, faulted ones included."""
    return [r for r in sandbox_requests(sandbox) if r["method"] == "POST" and r["path"].endswith("/users")]


def add_fault(sandbox: t.Any, **fault: t.Any) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=10)
    assert response.status_code == 201, response.text


def clear_faults(sandbox: t.Any) -> None:
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=10).raise_for_status()


def expire_token(sandbox: t.Any, token: str) -> None:
    requests.post(f"{sandbox.url}/_sandbox/tokens/expire", json={"token": token}, timeout=10).raise_for_status()


def revoke_token(sandbox: t.Any, token: str) -> None:
    requests.post(f"{sandbox.url}/_sandbox/tokens/revoke", json={"token": token}, timeout=10).raise_for_status()


def api_error_body(status: int, service_error_code: int, code: str, message: str) -> dict:
    return {"status": status, "serviceErrorCode": service_error_code, "code": code, "message": message}


# Running the target and scanning its outputs


def current_test_name() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "unknown").split(" ")[0]


def run_checked(
    sandbox: t.Any,
    config: dict,
    input_text: str | bytes,
    tmp_path: Path,
    *,
    secrets: t.Iterable[str] = (),
    timeout: float = 120,
) -> TargetRun:
    """Run the target, then assert that none of its outputs contains a secret or a config token."""
    run = run_target(config, input_text, tmp_path, timeout=timeout)
    collect_and_check(sandbox, config, tmp_path, run.stdout, run.stderr, secrets)
    return run


def collect_and_check(
    sandbox: t.Any,
    config: dict,
    tmp_path: Path,
    stdout: str,
    stderr: str,
    secrets: t.Iterable[str],
) -> None:
    """Gather a run's outputs, record them for the session scan, and assert they are clean."""
    token_secrets = {config.get("access_token"), config.get("refresh_token"), config.get("client_secret")}
    store_path = tmp_path / TOKEN_STORE_FILENAME
    if store_path.exists():
        stored = json.loads(store_path.read_text())
        token_secrets |= {stored.get("access_token"), stored.get("refresh_token")}
    token_secrets.discard(None)
    personal = {secret for secret in secrets if secret and secret.strip()}
    SESSION_SECRETS.update(token_secrets, personal)

    outputs = {"stdout": stdout, "stderr": stderr}
    for path in sorted(tmp_path.rglob("*")):
        if not path.is_file() or _is_test_input(path):
            continue
        name = str(path.relative_to(tmp_path))
        if path.suffix in SQLITE_SUFFIXES:
            # The ledger: its rows, as text, and the file's mode.
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{name} is not mode 0600"
            outputs[name] = sqlite_dump(path)
        else:
            outputs[name] = path.read_bytes().decode("utf-8", "replace")
    if sandbox is not None:
        outputs["sandbox request log"] = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=30).text

    test = current_test_name()
    for name, text in outputs.items():
        COLLECTED_OUTPUTS.append(CollectedOutput(test, name, text))
        # The token store exists to contain tokens, but it must contain no personal data.
        checked = personal if name == TOKEN_STORE_FILENAME else personal | token_secrets
        assert_text_clean(name, text, checked)


def assert_text_clean(name: str, text: str, secrets: t.Iterable[str]) -> None:
    lowered = text.lower()
    for secret in secrets:
        assert secret.lower() not in lowered, f"{name} contains a plaintext secret or identifier ({len(secret)} characters)"


def _is_test_input(path: Path) -> bool:
    """Config and input files are written by the test and legitimately hold secrets."""
    return path.name.startswith(("config", "input"))


def sqlite_dump(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return "\n".join(connection.iterdump())


def wait_for(condition: t.Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_process(process: subprocess.Popen, signal_number: int = signal.SIGKILL) -> tuple[str, str]:
    if process.poll() is None:
        process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=30)
    return stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def parse_states(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
