"""The run's token bucket with a fake clock: its pace, throttling and recovery."""

from __future__ import annotations

import math
import threading

import pytest

from organiser.datacite.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _times(limiter: RateLimiter, clock: Clock, count: int) -> list[float]:
    stamps = []
    for _ in range(count):
        limiter.acquire()
        stamps.append(round(clock.now - 100.0, 3))
    return stamps


def test_requests_go_out_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)
    assert _times(limiter, clock, 5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert limiter.sent == 5


def test_throttling_pauses_halves_and_recovers() -> None:
    clock = Clock()
    limiter = RateLimiter(8.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.throttle(3.0)
    limiter.throttle(3.0)  # a second answer of the same spell does not halve again
    assert limiter.rate == 4.0 and limiter.throttled == 2
    limiter.acquire()
    assert clock.now - 100.0 == pytest.approx(3.0, abs=0.3)  # Retry-After honoured
    clock.now += 5.0  # quiet
    limiter.acquire()
    assert limiter.rate == pytest.approx(4.8)  # grows by a tenth of 8 per quiet step
    for _ in range(20):
        clock.now += 5.0
        limiter.acquire()
    assert limiter.rate == 8.0  # never above the configured rate


def test_an_unlimited_bucket_falls_back_to_datacite_s_limit_when_throttled() -> None:
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    assert _times(limiter, clock, 3) == [0.0, 0.0, 0.0]
    limiter.throttle(1.0)
    assert limiter.rate == 5.0
    for _ in range(6):
        clock.now += 5.0
        limiter.acquire()
    assert math.isinf(limiter.rate)  # unlimited again once back at 10/s


def test_a_waiting_request_gives_up_when_asked() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.throttle(60.0)

    def stop() -> None:
        if clock.now > 110.0:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        limiter.acquire(stop)
    assert clock.now < 112.0


def test_threads_share_one_bucket() -> None:
    limiter = RateLimiter(50.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(limiter.clock())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 40
    assert stamps[-1] - stamps[0] >= 39 / 50 - 0.05  # 40 requests at 50/s: about 0.78 s
