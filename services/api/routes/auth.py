"""Log in, log out, who am I, and user accounts."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from services.api.deps import CurrentUser, RedisDep, SessionDep, SettingsDep, SiteAdmin, TokenDep
from services.api.schemas import TokenOut, UserIn, UserOut
from services.shared.accounts import authenticate, create_user, issue_token, revoke_token
from services.shared.errors import AuthenticationError
from services.shared.ratelimit import LoginRateLimiter

router = APIRouter(tags=["accounts"])


@router.post("/auth/token", response_model=TokenOut, summary="Log in and get a bearer token")
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: SessionDep,
    settings: SettingsDep, redis: RedisDep,
) -> TokenOut:
    """Exchange username and password for a bearer token (failed logins are rate limited)."""
    limiter, client = LoginRateLimiter(redis, settings), request.client.host if request.client else "unknown"
    limiter.check(form.username, client)
    try:
        user = authenticate(session, form.username, form.password)
    except AuthenticationError:
        limiter.failed(form.username, client)
        raise
    limiter.succeeded(form.username, client)
    token = issue_token(session, user, settings.token_ttl_hours)
    return TokenOut(access_token=token, expires_in_hours=settings.token_ttl_hours)


@router.post("/auth/logout", status_code=204, summary="Revoke the token of this request")
def logout(session: SessionDep, token: TokenDep, _user: CurrentUser) -> None:
    """Revoke the bearer token used for this request."""
    revoke_token(session, token)


@router.get("/auth/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The logged-in user."""
    return UserOut(id=user.id, username=user.username, is_admin=user.is_admin)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user (site admin)")
def add_user(body: UserIn, session: SessionDep, _admin: SiteAdmin) -> UserOut:
    """Create a user account."""
    user = create_user(session, body.username, body.password, is_admin=body.is_admin)
    return UserOut(id=user.id, username=user.username, is_admin=user.is_admin)
