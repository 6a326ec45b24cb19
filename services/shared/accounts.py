"""Users, password hashing and bearer tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.errors import AuthenticationError, ConflictError, InputError
from services.shared.tables import ApiToken, User, utcnow

_hasher = PasswordHasher()  # argon2id with the library's (slow, memory-hard) defaults
MIN_PASSWORD_LENGTH = 10


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(session: Session, username: str, password: str, *, is_admin: bool = False) -> User:
    """Create a user with an argon2-hashed password; usernames are unique."""
    username = username.strip()
    if not username:
        raise InputError("A username is required.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ConflictError(f"User '{username}' already exists; choose another username.")
    user = User(username=username, password_hash=_hasher.hash(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the user when the password matches; one error for unknown user and wrong password."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        # Spend the same time as a real check so response time does not reveal which usernames exist.
        _hasher.hash(password)
        raise AuthenticationError("Unknown username or wrong password.")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise AuthenticationError("Unknown username or wrong password.") from exc
    return user


def issue_token(session: Session, user: User, ttl_hours: int) -> str:
    """Create a bearer token for `user`; only its sha256 is stored."""
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, token_sha256=_token_digest(token), expires_at=utcnow() + timedelta(hours=ttl_hours))
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User:
    """Resolve a bearer token to its user, refusing expired and revoked tokens."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token)))
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("Invalid or revoked token; log in again to get a new one.")
    expires_at = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires_at <= utcnow():
        raise AuthenticationError("Token expired; log in again to get a new one.")
    return row.user


def revoke_token(session: Session, token: str) -> None:
    """Revoke a bearer token (logout)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
