"""Client-side pacing under LinkedIn's per-member limits on the streaming endpoints.

LinkedIn allows each member (the token's owner) 600 requests a minute on `/dmpSegments/{id}/users`
and 300 on `/companies`, and returns 429 above that. Pacing here keeps a large run under the
limit instead of collecting 429s and backoff waits.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import typing as t

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
# Requests leave here but are counted on arrival; a little slack keeps arrival jitter from
# putting one request too many into LinkedIn's window.
WINDOW_MARGIN_SECONDS = 0.25


class SlidingWindowLimiter:
    """Allow at most `limit` requests in any `window_seconds`, blocking callers until allowed."""

    def __init__(
        self,
        limit: int,
        window_seconds: float = WINDOW_SECONDS + WINDOW_MARGIN_SECONDS,
        *,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"a rate limit must allow at least 1 request, got {limit}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> float:
        """Block until a request may leave; return the seconds waited."""
        with self._lock:
            now = self._clock()
            while self._sent and now - self._sent[0] >= self.window_seconds:
                self._sent.popleft()
            wait = 0.0
            if len(self._sent) >= self.limit:
                wait = self._sent[0] + self.window_seconds - now
                self._sleep(wait)
                now = self._clock()
                self._sent.popleft()
            self._sent.append(now)
            self.waited_seconds += wait
            return wait


class StreamingRateLimits:
    """Pace `/users` and `/companies` requests; other paths pass straight through."""

    def __init__(
        self,
        users_per_minute: int,
        companies_per_minute: int,
        *,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        self.users = SlidingWindowLimiter(users_per_minute, clock=clock, sleep=sleep)
        self.companies = SlidingWindowLimiter(companies_per_minute, clock=clock, sleep=sleep)

    def before_request(self, method: str, path: str) -> None:
        if method != "POST":
            return
        if path.endswith("/users"):
            limiter = self.users
        elif path.endswith("/companies"):
            limiter = self.companies
        else:
            return
        waited = limiter.acquire()
        if waited >= 1.0:
            logger.info("Paced %s for %.1f s to stay under %d requests a minute", path, waited, limiter.limit)
