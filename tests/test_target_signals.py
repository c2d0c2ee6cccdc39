"""Signals mid-batch: no STATE for a batch that was cut off, and a rerun delivers it."""

from __future__ import annotations

import signal
import time

from tests.target_helpers import (
    add_fault,
    run_target,
    sandbox_members,
    sandbox_requests,
    segment_by_name,
    sha256_email,
    singer_lines,
    start_target,
    target_config,
)

SCHEMA = {"type": "object", "properties": {"email": {"type": "string"}}}


def wait_for_segment_create(sandbox, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["method"] == "POST" and r["path"] == "/rest/dmpSegments" for r in sandbox_requests(sandbox)):
            return
        time.sleep(0.1)
    raise AssertionError("the target never created its segment")


def cut_mid_batch(sandbox, sandbox_token, tmp_path, signal_number: int) -> tuple[int, str, str]:
    add_fault(sandbox, method="POST", path="/rest/dmpSegments/*/users", status=200, count=1, delay_seconds=10,
              body={"elements": [{"status": 201}]})
    config = target_config(sandbox, sandbox_token, tmp_path)
    input_text = singer_lines("contacts", SCHEMA, [{"email": "cut@example.com"}], state={"bookmark": 1})
    process = start_target(config, input_text, tmp_path)
    wait_for_segment_create(sandbox)
    time.sleep(1.0)
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=30)
    return process.returncode, stdout.decode(), stderr.decode()


def test_sigterm_mid_batch_emits_no_state(sandbox, sandbox_token, tmp_path):
    returncode, stdout, stderr = cut_mid_batch(sandbox, sandbox_token, tmp_path, signal.SIGTERM)
    assert returncode == 128 + signal.SIGTERM
    assert stdout.strip() == ""
    assert "without emitting STATE" in stderr


def test_sigkill_mid_batch_then_rerun_delivers(sandbox, sandbox_token, tmp_path):
    returncode, stdout, _ = cut_mid_batch(sandbox, sandbox_token, tmp_path, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    assert stdout.strip() == ""

    config = target_config(sandbox, sandbox_token, tmp_path)
    input_text = singer_lines("contacts", SCHEMA, [{"email": "cut@example.com"}], state={"bookmark": 1})
    rerun = run_target(config, input_text, tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"bookmark": 1}]
    segment = segment_by_name(sandbox, sandbox_token, "contacts")
    received = {m["userIds"][0]["idValue"] for m in sandbox_members(sandbox, segment["id"])}
    assert received == {sha256_email("cut@example.com")}
