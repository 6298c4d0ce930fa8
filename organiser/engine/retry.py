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
    wait_exponential_jitter,
)

from organiser.datacite.errors import TransientError

log = structlog.get_logger("organiser.retry")


def retrying(
    tries: int, backoff: float, max_backoff: float, sleep: Callable[[float], None]
) -> Retrying:
    """Give a tenacity ``Retrying`` that retries :class:`TransientError` up to ``tries`` times
    in all; ``sleep`` may raise to abandon the wait (the error then propagates)."""
    expo = wait_exponential_jitter(initial=backoff, max=max_backoff, jitter=backoff)

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
