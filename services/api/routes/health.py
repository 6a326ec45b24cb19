"""Liveness and readiness."""
from __future__ import annotations

from fastapi import APIRouter, Request
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])


@router.get("/health", summary="Is the API up, and can it reach its database and Redis?")
def health(request: Request) -> dict:
    """Report the reachability of the database and Redis (no authentication)."""
    state = request.app.state
    database_ok = redis_ok = True
    try:
        with state.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        database_ok = False
    try:
        state.redis.ping()
    except RedisError:
        redis_ok = False
    return {"status": "ok" if database_ok and redis_ok else "degraded", "database": database_ok, "redis": redis_ok}
