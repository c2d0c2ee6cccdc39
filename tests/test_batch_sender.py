"""BatchSender: batches are posted and accounted for in order, and failures reach the submitter."""

from __future__ import annotations

import threading

import pytest

from target_linkedin_audiences.sinks import MAX_BATCHES_IN_FLIGHT, BatchSender, Delivery


class Recorder:
    def __init__(self, fail_post_at: int | None = None, fail_account_at: int | None = None) -> None:
        self.posted: list[int] = []
        self.accounted: list[int] = []
        self.fail_post_at = fail_post_at
        self.fail_account_at = fail_account_at
        self.release_account = threading.Event()
        self.release_account.set()

    def post(self, action: str, batch: dict) -> Delivery:
        number = batch["n"]
        if number == self.fail_post_at:
            raise RuntimeError(f"post {number} failed")
        self.posted.append(number)
        return Delivery(segment=None, elements=[], results=[], elapsed_ms=0.0)  # type: ignore[arg-type]

    def account(self, action: str, batch: dict, delivery: Delivery) -> None:
        self.release_account.wait(timeout=10)
        number = batch["n"]
        if number == self.fail_account_at:
            raise RuntimeError(f"accounting {number} failed")
        self.accounted.append(number)


def test_batch_sender_posts_and_accounts_in_submission_order():
    recorder = Recorder()
    sender = BatchSender(recorder.post, recorder.account, name="test")
    for number in range(20):
        sender.submit("ADD", {"n": number})
    sender.wait()
    sender.close()
    assert recorder.posted == list(range(20))
    assert recorder.accounted == list(range(20))
    assert sender.elements_in_flight == 0


def test_batch_sender_posts_while_accounting():
    recorder = Recorder()
    recorder.release_account.clear()
    sender = BatchSender(recorder.post, recorder.account, name="test")
    for number in range(MAX_BATCHES_IN_FLIGHT):
        sender.submit("ADD", {"n": number})
    # Accounting for batch 0 is blocked, yet the posting thread goes on with the rest.
    for _ in range(100):
        if len(recorder.posted) == MAX_BATCHES_IN_FLIGHT:
            break
        threading.Event().wait(0.05)
    assert recorder.posted == list(range(MAX_BATCHES_IN_FLIGHT))
    assert recorder.accounted == []
    assert sender.elements_in_flight == MAX_BATCHES_IN_FLIGHT  # one element per batch
    recorder.release_account.set()
    sender.wait()
    sender.close()
    assert recorder.accounted == list(range(MAX_BATCHES_IN_FLIGHT))


def submit_until_failure(recorder: Recorder, message: str) -> None:
    """Submit ten batches and wait, expecting the failure `message`; then close the sender."""
    sender = BatchSender(recorder.post, recorder.account, name="test")
    with pytest.raises(RuntimeError, match=message):
        for number in range(10):
            sender.submit("ADD", {"n": number})
        sender.wait()
    sender.close()


def test_batch_sender_failed_post_stops_posting():
    recorder = Recorder(fail_post_at=2)
    submit_until_failure(recorder, "post 2 failed")
    assert recorder.posted == [0, 1]
    assert recorder.accounted == [0, 1]


def test_batch_sender_failed_accounting_stops_accounting():
    recorder = Recorder(fail_account_at=1)
    submit_until_failure(recorder, "accounting 1 failed")
    assert recorder.accounted == [0]
    # Batches posted before the failure showed may be on LinkedIn, but none is accounted for.
    assert 1 in recorder.posted
