"""The client-side limiter: never more than the limit in any window, and no wait below it."""

from __future__ import annotations

import pytest

from target_linkedin_audiences.ratelimit import SlidingWindowLimiter, StreamingRateLimits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def test_under_limit_never_waits():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 60, clock=clock.time, sleep=clock.sleep)
    for _ in range(5):
        assert limiter.acquire() == 0
    assert clock.now == 1000.0


def test_over_limit_waits_out_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock.time, sleep=clock.sleep)
    sent = []
    for _ in range(10):
        limiter.acquire()
        sent.append(clock.now)
    for index in range(3, len(sent)):
        assert sent[index] - sent[index - 3] >= 60
    assert clock.now - 1000.0 == pytest.approx(180)


def test_window_slides_with_spaced_requests():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 40
    limiter.acquire()
    clock.now += 30
    assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(30)


def test_minimum_duration_for_many_requests():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(600, 60, clock=clock.time, sleep=clock.sleep)
    for _ in range(2000):
        limiter.acquire()
    # 2,000 requests at 600 a minute: three full windows pass before the last 200 may leave.
    assert clock.now - 1000.0 == pytest.approx(180)


def test_zero_limit_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindowLimiter(0)


def test_streaming_limits_pick_endpoint():
    clock = FakeClock()
    limits = StreamingRateLimits(users_per_minute=2, companies_per_minute=1, clock=clock.time, sleep=clock.sleep)
    limits.before_request("POST", "/rest/dmpSegments/1/companies")
    limits.before_request("GET", "/rest/dmpSegments/1/companies")
    limits.before_request("POST", "/rest/dmpSegments/1/users")
    limits.before_request("POST", "/rest/dmpSegments/1/users")
    assert clock.now == 1000.0
    limits.before_request("POST", "/rest/dmpSegments/1/companies")
    assert clock.now > 1000.0
