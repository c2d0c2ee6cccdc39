"""Run the real target as a subprocess and read what it produced."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"


@dataclasses.dataclass
class TargetRun:
    returncode: int
    stdout: str
    stderr: str
    reject_path: Path
    dry_run_path: Path

    @property
    def states(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def rejects(self) -> list[dict]:
        if not self.reject_path.exists():
            return []
        return [json.loads(line) for line in self.reject_path.read_text().splitlines() if line.strip()]


def target_config(sandbox: t.Any, token: dict, tmp_path: Path, **overrides: t.Any) -> dict:
    """Config that points the target at a running sandbox, with fast test timings."""
    config = {
        "api_base_url": sandbox.url,
        "oauth_base_url": sandbox.url,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "access_token": token["access_token"],
        "refresh_token": token["refresh_token"],
        "ad_account_id": sandbox.default_account_id,
        "source_platform": "SANDBOX",
        "segment_write_delay_seconds": 0,
        "reject_file_path": str(tmp_path / "rejects.jsonl"),
        "dry_run_path": str(tmp_path / "dry-run.jsonl"),
        "ledger_path": str(tmp_path / "ledger.db"),
        "max_retry_seconds": 20,
    }
    config.update(overrides)
    return config


TARGET_COMMAND = [sys.executable, "-m", "target_linkedin_audiences.target"]


def run_target(
    config: dict,
    input_text: str | bytes,
    tmp_path: Path,
    *,
    timeout: float = 120,
) -> TargetRun:
    """Run `target-linkedin-audiences --config ...` with the input on stdin; bytes go as they are."""
    config_path = tmp_path / f"config-{time.monotonic_ns()}.json"
    config_path.write_text(json.dumps(config))
    process = subprocess.run(
        [*TARGET_COMMAND, "--config", str(config_path)],
        input=input_text if isinstance(input_text, bytes) else input_text.encode("utf-8"),
        capture_output=True,
        timeout=timeout,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    return TargetRun(
        returncode=process.returncode,
        stdout=process.stdout.decode("utf-8", "replace"),
        stderr=process.stderr.decode("utf-8", "replace"),
        reject_path=Path(config.get("reject_file_path", tmp_path / "rejects.jsonl")),
        dry_run_path=Path(config.get("dry_run_path", tmp_path / "dry-run.jsonl")),
    )


def start_target(config: dict, input_text: str, tmp_path: Path) -> subprocess.Popen:
    """Start the target in the background with the input on stdin, for tests that signal it."""
    config_path = tmp_path / f"config-{time.monotonic_ns()}.json"
    config_path.write_text(json.dumps(config))
    input_path = tmp_path / f"input-{time.monotonic_ns()}.jsonl"
    input_path.write_text(input_text)
    with open(input_path, "rb") as stdin:
        return subprocess.Popen(
            [*TARGET_COMMAND, "--config", str(config_path)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def singer_lines(stream: str, schema: dict, records: t.Iterable[dict], *, key_properties: list[str] | None = None, state: dict | None = None) -> str:
    """Build Singer input: SCHEMA, RECORD messages, then an optional STATE."""
    lines = [json.dumps({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": key_properties or []})]
    lines.extend(json.dumps({"type": "RECORD", "stream": stream, "record": record}) for record in records)
    if state is not None:
        lines.append(json.dumps({"type": "STATE", "value": state}))
    return "\n".join(lines) + "\n"


def sha256_email(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def sample_customers() -> list[dict]:
    with open(SAMPLE_DATA / "customers-100.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sample_organizations() -> list[dict]:
    with open(SAMPLE_DATA / "organizations-1000.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def segments_of_account(sandbox: t.Any, token: dict, account_id: str | int) -> list[dict]:
    """List the account's DMP segments through the API, as a client would."""
    response = requests.get(
        f"{sandbox.url}/rest/dmpSegments",
        params={"q": "account", "account": f"urn:li:sponsoredAccount:{account_id}", "count": "1000"},
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "LinkedIn-Version": "202608",
            "X-Restli-Protocol-Version": "2.0.0",
            "X-RestLi-Method": "FINDER",
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["elements"]


def segment_by_name(sandbox: t.Any, token: dict, name: str) -> dict:
    matches = [s for s in segments_of_account(sandbox, token, sandbox.default_account_id) if s["name"] == name]
    assert len(matches) == 1, f"expected one segment named {name!r}, found {len(matches)}"
    return matches[0]


def sandbox_members(sandbox: t.Any, segment_id: str | int) -> list[dict]:
    response = requests.get(f"{sandbox.url}/_sandbox/segments/{segment_id}/members", timeout=10)
    response.raise_for_status()
    return response.json()["members"]


def sandbox_requests(sandbox: t.Any) -> list[dict]:
    response = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10)
    response.raise_for_status()
    return response.json()["requests"]


def add_fault(sandbox: t.Any, **fault: t.Any) -> None:
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=10)
    response.raise_for_status()
