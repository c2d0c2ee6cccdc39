"""SIGKILL and SIGTERM in the middle of a run that emits STATE every few records.

A tap resumes from the last STATE the target emitted, so the rerun here sends only the records
after that bookmark. Nothing is lost exactly when every emitted STATE covers delivered records
only, and the rerun then completes the segment.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.fault_helpers import (
    CONTACT_SCHEMA,
    USERS_PATH,
    add_fault,
    collect_and_check,
    contact_input_with_states,
    digests,
    emails_for,
    fault_config,
    member_requests,
    parse_states,
    run_checked,
    segment_digests,
    start_target,
    wait_for,
)
from tests.target_helpers import singer_lines

RECORD_COUNT = 8


def resume_input(emails: list[str], after_bookmark: int | None) -> str:
    """What a tap sends on the rerun: the records after the bookmark, then a final STATE."""
    start = 0 if after_bookmark is None else after_bookmark + 1
    records = [{"id": str(index), "email": emails[index]} for index in range(start, len(emails))]
    return singer_lines("contacts", CONTACT_SCHEMA, records, key_properties=["id"], state={"bookmark": len(emails) - 1})


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_signal_mid_batch_then_resume(sandbox, sandbox_token, tmp_path, signal_number):
    emails = emails_for(f"signal{int(signal_number)}", RECORD_COUNT)
    # Every member batch contains one record and takes 1 s, and the 1 ms batch age makes the SDK
    # drain and emit STATE every few records. The signal comes right after the first STATE,
    # while later batches are still to be sent.
    add_fault(sandbox, method="POST", path=USERS_PATH, delay_seconds=1, count=RECORD_COUNT)
    config = fault_config(
        sandbox, sandbox_token, tmp_path, request_timeout_seconds=5, batch_size_rows=1, batch_max_age_seconds=0.001
    )
    process = start_target(config, contact_input_with_states(emails), tmp_path)
    stdout_lines: list[str] = []
    reader = threading.Thread(target=lambda: stdout_lines.extend(line.decode() for line in process.stdout), daemon=True)
    reader.start()

    wait_for(lambda: stdout_lines, "the first STATE", timeout=60)
    time.sleep(0.3)
    process.send_signal(signal_number)
    process.wait(timeout=30)
    reader.join(timeout=10)
    stdout = "".join(stdout_lines)
    stderr = process.stderr.read().decode("utf-8", "replace")
    collect_and_check(sandbox, config, tmp_path, stdout, stderr, emails)

    if signal_number == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 128 + signal.SIGTERM, stderr
        assert "without emitting STATE" in stderr
    # A batch in flight when the signal came still reaches the sandbox after its 1 s delay.
    time.sleep(1.5)

    states = parse_states(stdout)
    assert len(member_requests(sandbox)) < RECORD_COUNT, "the target finished before the signal came"
    delivered = segment_digests(sandbox, sandbox_token)
    for state in states:
        covered = emails[: state["bookmark"] + 1]
        assert digests(covered) <= delivered, f"STATE {state} covers a record LinkedIn never received"

    last_bookmark = states[-1]["bookmark"] if states else None
    rerun = run_checked(sandbox, fault_config(sandbox, sandbox_token, tmp_path), resume_input(emails, last_bookmark),
                        tmp_path, secrets=emails)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.states == [{"bookmark": RECORD_COUNT - 1}]
    assert segment_digests(sandbox, sandbox_token) == digests(emails)
