"""The bounds a fan-out runs under: concurrency, per-attempt timeout, retries and backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Bounds for a fan-out: concurrency, per-attempt timeout, retries, backoff."""

    concurrency: int = 5
    attempt_timeout: float = 60.0
    max_retries: int = 2
    backoff_initial: float = 1.0
    backoff_max: float = 30.0

    @property
    def max_attempts(self) -> int:
        """The first attempt plus the retries."""
        return self.max_retries + 1

    def backoff_delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        A server's ``Retry-After`` is a floor: the retry never comes sooner,
        with up to 10 % jitter on top. Otherwise exponential backoff with
        jitter: a random delay between half and all of
        ``backoff_initial * 2 ** (retry_number - 1)``, capped at ``backoff_max``.
        """
        if retry_after is not None and retry_after >= 0:
            return retry_after * random.uniform(1.0, 1.1)
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** max(retry_number - 1, 0))
        return random.uniform(ceiling / 2, ceiling)
