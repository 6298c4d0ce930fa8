"""Retrying one request: exponential back-off with jitter, DataCite's Retry-After honoured,
waits cut short when the run is asked to stop."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from organiser.datacite.errors import TransientError

log = structlog.get_logger("organiser.retry")


def retrying(
    tries: int, backoff: float, max_backoff: float, sleep: Callable[[float], None]
) -> Retrying:
    """Give a tenacity ``Retrying`` that retries :class:`TransientError` up to ``tries`` times
    in all; ``sleep`` may raise to abandon the wait (the error then propagates)."""
    # backoff * 2^(n-1), then up to ``backoff`` of jitter, at most ``max_backoff`` (as
    # wait_exponential_jitter, whose parameter names differ between tenacity versions)
    exponential = wait_exponential(multiplier=backoff, max=max_backoff) + wait_random(0, backoff)

    def expo(state: RetryCallState) -> float:
        return min(exponential(state), max_backoff)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        hinted = getattr(error, "retry_after", None)
        if hinted is not None:
            return min(float(hinted), max_backoff)
        return expo(state)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info("retrying", error=str(error), attempt=state.attempt_number)

    return Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(tries),
        wait=wait,
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )
