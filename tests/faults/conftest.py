"""Fixtures for fault tests: a qcoder installation on PostgreSQL with its own Redis server."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.harness import FaultCluster
from tests.faults.servers import RedisServer


@pytest.fixture
def cluster(postgres_url, make_settings, tmp_path) -> Iterator[FaultCluster]:  # noqa: ANN001
    """API + two supervised workers + a private redis-server (never the one on 6379), all killed afterwards."""
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    settings = make_settings(
        database_url=postgres_url, redis_url=redis.url, pseudonymise_recogniser="rules", pseudonym_key_secret="f" * 40,
        # Short heartbeats and retries, so that a fault is noticed and retried within seconds.
        worker_job_monitoring_interval=2, worker_maintenance_interval=3, job_retries=3,
        job_retry_intervals_seconds=[2, 4, 8],
        # The recovery sweep every few seconds (production: minutes), for rows older than 3 s.
        recovery_sweep_interval_seconds=5, recovery_grace_seconds=3,
    )
    installation = FaultCluster(settings, tmp_path, redis)
    try:
        installation.start()
        yield installation
    finally:
        installation.stop()
        redis.stop(hard=True)
