"""Dashboard accounts: Argon2 password hashes, sign-in with a limit on wrong passwords,
sessions and API tokens of which only hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, func, select

from storage.audit import record_audit
from storage.tables import ApiToken, SignInAttempt, StaffRole, StaffUser, WebSession

SESSION_LENGTH = timedelta(hours=12)
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_ATTEMPTS = 5
_hasher = PasswordHasher()


class AccountError(ValueError):
    """Why an account cannot be made or used, in words staff understand."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(*, session: Session, email: str, name: str, role: str, password: str,
             now: datetime, actor: str, person_id: int | None = None) -> StaffUser:
    """A new dashboard account; the password must be at least 10 characters."""
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError("an email address is needed to sign in")
    if role not in set(StaffRole):
        raise AccountError("the role is admin, staff or mp")
    if len(password) < 10:
        raise AccountError("a password needs at least 10 characters")
    if session.exec(select(StaffUser).where(StaffUser.email == email)).first() is not None:
        raise AccountError(f"there is already an account for {email}")
    user = StaffUser(email=email, name=name.strip() or email, role=role, person_id=person_id,
                     password_hash=_hasher.hash(password), created_at=now)
    session.add(user)
    session.flush()
    record_audit(session=session, actor=actor, action="account.created",
                 subject=f"staff_user:{user.id}", at=now, detail={"role": role})
    return user


@dataclass(frozen=True)
class SignedIn:
    user: StaffUser
    token: str
    csrf: str


def sign_in(*, session: Session, email: str, password: str, now: datetime) -> SignedIn:
    """Check the password and open a session; too many wrong passwords wait a while."""
    email = email.strip().lower()
    recent = session.exec(select(func.count()).select_from(SignInAttempt).where(
        SignInAttempt.email == email, col(SignInAttempt.at) > now - ATTEMPT_WINDOW)).one()
    if recent >= MAX_ATTEMPTS:
        raise AccountError("too many wrong passwords; wait 15 minutes and try again")
    user = session.exec(select(StaffUser).where(StaffUser.email == email)).first()
    if user is None or user.disabled or not _verifies(user.password_hash, password):
        session.add(SignInAttempt(email=email, at=now))
        raise AccountError("that email and password do not match an account")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id or 0, csrf=csrf,
                           created_at=now, expires_at=now + SESSION_LENGTH))
    record_audit(session=session, actor=f"staff_user:{user.id}", action="account.signed_in",
                 at=now)
    return SignedIn(user=user, token=token, csrf=csrf)


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def session_user(*, session: Session, token: str | None, now: datetime
                 ) -> tuple[StaffUser, WebSession] | None:
    """The account a session cookie belongs to, while it has not expired."""
    if not token:
        return None
    found = session.get(WebSession, token_hash(token))
    if found is None or found.expires_at <= now:
        return None
    user = session.get(StaffUser, found.user_id)
    if user is None or user.disabled:
        return None
    return user, found


def sign_out(*, session: Session, token: str | None) -> None:
    if token:
        found = session.get(WebSession, token_hash(token))
        if found is not None:
            session.delete(found)


def create_token(*, session: Session, email: str, label: str, now: datetime) -> str:
    """A new API token for an account; shown once, only its hash is kept."""
    user = session.exec(select(StaffUser).where(StaffUser.email == email.strip().lower())).first()
    if user is None:
        raise AccountError(f"there is no account for {email}")
    token = "vb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=token_hash(token), user_id=user.id or 0, label=label,
                         created_at=now))
    record_audit(session=session, actor="cli", action="token.created",
                 subject=f"staff_user:{user.id}", at=now, detail={"label": label})
    return token


def token_user(*, session: Session, token: str | None, now: datetime) -> StaffUser | None:
    """The account an API token belongs to."""
    if not token:
        return None
    found = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    if found is None:
        return None
    user = session.get(StaffUser, found.user_id)
    if user is None or user.disabled:
        return None
    found.last_used_at = now
    session.add(found)
    return user
