"""FastAPI dependencies: settings, database session, Redis, and the authenticated user."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis import Redis
from sqlalchemy.orm import Session

from services.shared.accounts import user_for_token
from services.shared.config import Settings
from services.shared.errors import AuthenticationError, PermissionDeniedError
from services.shared.tables import User

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler succeeds."""
    session = request.app.state.database.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_redis(request: Request) -> Redis:
    """The app's Redis connection."""
    return request.app.state.redis


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# "function" scope: commit before the response is sent, so a client never acts on uncommitted work.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
RedisDep = Annotated[Redis, Depends(get_redis)]


def get_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The bearer token of the request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationError("Log in first: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token.")
    return credentials.credentials


TokenDep = Annotated[str, Depends(get_token)]


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    """The user the bearer token belongs to."""
    return user_for_token(session, token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_site_admin(user: CurrentUser) -> User:
    """The current user, who must be a site administrator."""
    if not user.is_admin:
        raise PermissionDeniedError("Only a site administrator can do this.")
    return user


SiteAdmin = Annotated[User, Depends(get_site_admin)]
