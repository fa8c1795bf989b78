"""Per-client rate limits: ``ClientRateLimiter`` counts each client address's requests in a
moving window, in memory or in Redis (one budget across replicas); ``RateLimited`` is the refusal
the API turns into a 429 with ``Retry-After``."""

from __future__ import annotations

import math
import time

from ..errors import ConfigError


class RateLimited(Exception):
    """A client asked more often than the rate limit allows (``language``: the request's)."""

    def __init__(self, retry_after: int, language: str = "en") -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after, self.language = retry_after, language


class ClientRateLimiter:
    """``settings.rate_limit`` (e.g. ``"30/minute"``) per client address, as a moving window,
    counted in ``storage`` ("memory://", or "redis://…" to share one budget across replicas)."""

    def __init__(self, rate_limit: str, storage: str = "memory://") -> None:
        from limits import parse
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.item = parse(rate_limit)
        try:
            backend = storage_from_string(storage)
        except Exception as exc:  # limits raises ConfigurationError or ValueError
            raise ConfigError(
                f"ASSISTANT_RATE_LIMIT_STORAGE={storage!r} cannot be used ({exc}); use "
                "memory:// or redis://host:port."
            ) from exc
        if not backend.check():
            raise ConfigError(
                f"The rate-limit storage {storage} does not answer; start it, or unset "
                "ASSISTANT_RATE_LIMIT_STORAGE to count in memory."
            )
        self._limiter = MovingWindowRateLimiter(backend)

    def retry_after(self, client: str) -> int | None:
        """Count one request by ``client``; None if allowed, else the seconds until it would be."""
        if self._limiter.hit(self.item, "ask", client):
            return None
        reset = self._limiter.get_window_stats(self.item, "ask", client).reset_time
        return max(1, math.ceil(reset - time.time()))
