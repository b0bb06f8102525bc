"""Retries with exponential backoff and jitter for transient errors only, and a per-source rate limit.

Sleep and clock are parameters so tests run in milliseconds; nothing here knows HTTP or SQL.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tasks.monitoring.errors import SourceUnavailable, TransientSourceError

T = TypeVar("T")
Sleep = Callable[[float], None]


class _Retrying(Protocol):
    attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    jitter: float


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    jitter: float = 0.5

    @classmethod
    def of(cls, source: _Retrying) -> RetryPolicy:
        """Return the policy a source's config gives."""
        return cls(source.attempts, source.backoff_seconds, source.max_backoff_seconds, source.jitter)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Return the wait after failed try `attempt` (1-based): backoff · 2^(attempt-1), capped, ± jitter."""
        base = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return max(0.0, base * (1 + self.jitter * rng.uniform(-1, 1)))


def call_with_retries(attempt: Callable[[], T], policy: RetryPolicy, sleep: Sleep = time.sleep,
                      rng: random.Random | None = None) -> T:
    """Call `attempt` until it returns; retry only TransientSourceError, honouring its Retry-After.

    A Retry-After longer than max_backoff_seconds is not waited for: the source is reported unavailable
    and the next scan tries again. Any other exception propagates at once.
    """
    rng = rng or random.Random()
    for number in range(1, policy.attempts + 1):
        try:
            return attempt()
        except TransientSourceError as exc:
            if number == policy.attempts:
                raise SourceUnavailable(f"{exc}（已试 {policy.attempts} 次，放弃）") from exc
            if exc.retry_after is not None and exc.retry_after > policy.max_backoff_seconds:
                raise SourceUnavailable(f"{exc}: 服务器要求 {exc.retry_after:g} 秒后再试（Retry-After），超过 "
                                        f"max_backoff_seconds {policy.max_backoff_seconds:g} 秒") from exc
            sleep(exc.retry_after if exc.retry_after is not None else policy.delay(number, rng))
    raise AssertionError("unreachable: attempts >= 1")


class RateLimiter:
    """Space requests at most `per_second` apart (a token bucket holding one token)."""

    def __init__(self, per_second: float, sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / per_second
        self.sleep, self.clock = sleep, clock
        self.next_at: float | None = None

    def wait(self) -> None:
        """Return when the next request may go."""
        now = self.clock()
        if self.next_at is not None and self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval
