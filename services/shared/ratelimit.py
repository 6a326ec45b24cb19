"""Rate limiting of failed logins, per username and per client address, counted in Redis.

Counting failures (not attempts) keeps honest users unaffected while a password guesser is
stopped after a handful of tries on one username; the per-client limit stops one address
spraying many usernames.
Counters live in Redis so that every API process shares them. While Redis is unreachable the
limits are kept per process (logged), rather than letting guessing go unlimited.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

from services.shared.config import Settings
from services.shared.errors import RateLimitedError

log = logging.getLogger(__name__)


class _LocalCounters:
    """Fixed-window counters in this process, for when Redis cannot be reached."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def get(self, key: str) -> tuple[int, int]:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= time.monotonic():
                return 0, 0
            return count, int(expires - time.monotonic()) + 1

    def incr(self, key: str, window: int) -> None:
        with self._lock:
            count, expires = self._counts.get(key, (0, 0.0))
            if expires <= time.monotonic():
                count, expires = 0, time.monotonic() + window
            self._counts[key] = (count + 1, expires)

    def delete(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


_LOCAL = _LocalCounters()


class LoginRateLimiter:
    """Refuses logins for a username or client that failed too often within the window."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.window = settings.login_window_seconds
        self.limits = {"user": settings.login_max_failures_per_user, "client": settings.login_max_failures_per_client}
        # The queue name keeps installations (and parallel tests) sharing one Redis apart.
        self.prefix = f"qcoder:{settings.queue_name}:login-failures"

    def _keys(self, username: str, client: str) -> dict[str, str]:
        # The username is counted per client, so that someone elsewhere cannot lock a user out by
        # failing on purpose; it is hashed so that Redis holds no list of the names people tried.
        user = hashlib.sha256(f"{client}\0{username.strip().casefold()}".encode()).hexdigest()[:32]
        return {"user": f"{self.prefix}:user:{user}", "client": f"{self.prefix}:client:{client}"}

    def check(self, username: str, client: str) -> None:
        """Raise RateLimitedError while the username or client is over its limit."""
        for scope, key in self._keys(username, client).items():
            count, retry_after = self._get(key)
            if count >= self.limits[scope]:
                minutes = max(1, (retry_after + 59) // 60)
                raise RateLimitedError(
                    f"Too many failed logins; wait {minutes} minute(s) and try again, or ask an administrator.",
                    retry_after_seconds=retry_after,
                )

    def failed(self, username: str, client: str) -> None:
        """Count one failed login."""
        for key in self._keys(username, client).values():
            try:
                with self.redis.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, self.window, nx=True)
                    pipe.execute()
            except RedisError as exc:
                log.warning("Redis unreachable (%s); counting failed logins in this process only", exc)
                _LOCAL.incr(key, self.window)

    def succeeded(self, username: str, client: str) -> None:
        """A correct password clears the username's failures (not the client's)."""
        key = self._keys(username, client)["user"]
        _LOCAL.delete(key)
        try:
            self.redis.delete(key)
        except RedisError as exc:
            log.warning("Redis unreachable (%s); could not clear failed-login count", exc)

    def _get(self, key: str) -> tuple[int, int]:
        local = _LOCAL.get(key)
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.ttl(key)
                raw, ttl = pipe.execute()
        except RedisError as exc:
            log.warning("Redis unreachable (%s); using this process's failed-login counts", exc)
            return local
        count = int(raw or 0)
        return (count, max(int(ttl), 1)) if count >= local[0] else local
