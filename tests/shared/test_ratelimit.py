"""Failed logins are limited per username and client, and per client, also while Redis is down."""
from __future__ import annotations

import pytest
from redis import Redis

from services.shared.errors import RateLimitedError
from services.shared.ratelimit import LoginRateLimiter


def _limiter(make_settings, url: str) -> LoginRateLimiter:  # noqa: ANN001
    settings = make_settings(login_max_failures_per_user=3, login_max_failures_per_client=5, login_window_seconds=60)
    return LoginRateLimiter(Redis.from_url(url), settings)


def test_ratelimit_counts_failures_per_username_and_client(redis_url, make_settings) -> None:
    limiter = _limiter(make_settings, redis_url)
    for _ in range(3):
        limiter.check("alice", "10.0.0.1")
        limiter.failed("alice", "10.0.0.1")
    with pytest.raises(RateLimitedError) as refused:
        limiter.check("Alice ", "10.0.0.1")  # the same username, however it is typed
    assert 0 < refused.value.details["retry_after_seconds"] <= 60
    limiter.check("alice", "10.0.0.2")  # elsewhere alice can still log in
    limiter.check("bob", "10.0.0.1")
    limiter.failed("bob", "10.0.0.1")
    limiter.failed("carol", "10.0.0.1")  # five failures from one client, over several usernames
    with pytest.raises(RateLimitedError):
        limiter.check("dave", "10.0.0.1")


def test_ratelimit_success_clears_the_username_count(redis_url, make_settings) -> None:
    limiter = _limiter(make_settings, redis_url)
    for _ in range(2):
        limiter.failed("alice", "c")
    limiter.succeeded("alice", "c")
    for _ in range(2):
        limiter.failed("alice", "c")
    limiter.check("alice", "c")


def test_ratelimit_keeps_limiting_in_process_while_redis_is_down(make_settings) -> None:
    limiter = _limiter(make_settings, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    for _ in range(3):
        limiter.check("erin", "192.0.2.9")
        limiter.failed("erin", "192.0.2.9")
    with pytest.raises(RateLimitedError):
        limiter.check("erin", "192.0.2.9")
