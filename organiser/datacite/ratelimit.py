"""One rate limit for every request of a run: a token bucket shared by the workers. When
DataCite throttles (429, or its firewall's HTML 403) the bucket halves its rate, holds every
request back for ``Retry-After``, and then recovers step by step."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("organiser.ratelimit")

#: The slowest the bucket goes after repeated throttling, requests per second.
FLOOR = 0.2
#: The rate an unlimited bucket falls back to when DataCite throttles it anyway (DataCite's
#: documented limit), before halving.
DATACITE_LIMIT = 10.0
#: After this many seconds without throttling, the rate grows by a tenth of the configured
#: one (by 1 request/s for an unlimited bucket, which is unlimited again from 10/s).
RECOVERY_STEP = 5.0


class RateLimiter:
    """A token bucket of ``rate`` requests per second (``None``: unlimited), with bursts of
    up to ``burst`` requests. Thread-safe. Seams: ``clock`` (monotonic seconds), ``sleep``."""

    def __init__(
        self,
        rate: float | None,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.configured = rate
        self.rate = math.inf if rate is None else rate
        self.burst = max(1.0, burst)
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()
        self._paused_until = 0.0
        self._calm_since = self._stamp
        self.throttled = 0  # throttling answers seen
        self.sent = 0  # requests let through

    def acquire(self, check: Callable[[], None] = lambda: None) -> None:
        """Wait until a request may go out, then take its token. ``check`` is called before
        each wait and may raise to give up."""
        while True:
            check()
            with self._lock:
                now = self.clock()
                self._recover(now)
                wait = self._paused_until - now
                if wait <= 0:
                    if math.isinf(self.rate):
                        self.sent += 1
                        return
                    self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                    self._stamp = now
                    if self._tokens >= 1:
                        self._tokens -= 1
                        self.sent += 1
                        return
                    wait = (1 - self._tokens) / self.rate
            self.sleep(min(wait, 0.5))

    def throttle(self, retry_after: float) -> None:
        """DataCite throttled a request: halve the rate, empty the bucket, and hold every
        request back for ``retry_after`` seconds."""
        with self._lock:
            now = self.clock()
            self.throttled += 1
            if now >= self._paused_until:  # one halving per throttled spell, not per answer
                base = DATACITE_LIMIT if math.isinf(self.rate) else self.rate
                self.rate = max(FLOOR, base / 2)
            self._tokens, self._stamp = 0.0, now
            self._paused_until = max(self._paused_until, now + retry_after)
            self._calm_since = self._paused_until
            log.info("throttled by DataCite", rate=round(self.rate, 2), wait=round(retry_after, 1))

    def _recover(self, now: float) -> None:
        if self.configured is not None and self.rate >= self.configured:
            return
        if math.isinf(self.rate) or now - self._calm_since < RECOVERY_STEP:
            return
        step = 1.0 if self.configured is None else self.configured / 10
        self.rate += step
        if self.configured is None and self.rate >= DATACITE_LIMIT:
            self.rate = math.inf
        elif self.configured is not None:
            self.rate = min(self.rate, self.configured)
        self._calm_since = now
