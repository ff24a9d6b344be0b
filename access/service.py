"""Users, password hashing (argon2), login with lockout, signed API tokens, site scopes.

Every login, failed login and lockout is written to the audit ledger; passwords, hashes and
tokens never are, nor are they logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature
from sqlmodel import Session, select

import ledger
from access.exceptions import LoginFailed
from access.models import User, UserSite
from config.keys import secret_key, serializer
from config.settings import get_settings

logger = logging.getLogger(__name__)
_hasher = PasswordHasher()
# A hash of a random password: verifying against it when the user does not exist keeps the
# time of a failed login the same whether or not the name exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0123456789")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user's id, role and the sites their scope covers."""

    user_id: int
    username: str
    role: str
    all_sites: bool
    site_ids: frozenset[int]
    expert_id: int | None = None
    room_id: int | None = None

    def sees_site(self, site_id: int | None) -> bool:
        """True when the site lies in this user's scope."""
        return self.all_sites or (site_id is not None and site_id in self.site_ids)

    @property
    def actor(self) -> str:
        """The ledger's actor name for this user."""
        return f"user:{self.username}"


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def principal(session: Session, user: User) -> Principal:
    """The Principal of a user row (site scope loaded)."""
    assert user.id is not None
    sites = session.exec(select(UserSite.site_id).where(UserSite.user_id == user.id)).all()
    return Principal(user_id=user.id, username=user.username, role=user.role, all_sites=user.all_sites,
                     site_ids=frozenset(sites), expert_id=user.expert_id, room_id=user.room_id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _keyed(text: str) -> str:
    return hmac.new(secret_key(), text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:16]


def authenticate(session: Session, *, username: str, password: str, now: datetime, via: str) -> User:
    """Check a password with lockout after repeated failures; every outcome is ledgered and committed."""
    settings = get_settings()
    user = session.exec(select(User).where(User.username == username)).first()
    # A name that matches no account may be a password typed in the wrong field: the ledger keeps a
    # keyed hash of it, enough to see repeated probing, never the text.
    subject = f"user:{username}" if user is not None else "user:?" + _keyed(username)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        _log_login(session, subject, "unknown_user", via, now)
        raise LoginFailed("wrong user name or password (after repeated failures, wait before trying again)")
    if user.locked_until is not None and _aware(user.locked_until) > now:
        _log_login(session, subject, "locked", via, now)
        # The same words as a wrong password, so that a lockout does not confirm the name exists.
        raise LoginFailed("wrong user name or password (after repeated failures, wait before trying again)")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        outcome = "bad_password"
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            outcome = "locked_now"
        session.add(user)
        _log_login(session, subject, outcome, via, now)
        raise LoginFailed("wrong user name or password (after repeated failures, wait before trying again)") from None
    if not user.active:
        _log_login(session, subject, "inactive", via, now)
        raise LoginFailed("this account is disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    ledger.append(session, kind="auth.login", subject=subject, actor=f"user:{user.username}", ts=now,
                  payload={"via": via, "role": user.role})
    session.commit()
    return user


def _log_login(session: Session, subject: str, outcome: str, via: str, now: datetime) -> None:
    ledger.append(session, kind="auth.login_failed", subject=subject, actor="anonymous", ts=now,
                  payload={"via": via, "outcome": outcome})
    session.commit()


def issue_token(user: User) -> str:
    """A signed bearer token naming the user and their token version."""
    return serializer("api-token").dumps({"u": user.id, "v": user.token_version})


def user_from_claims(session: Session, claims: object) -> User | None:
    """The active user a token's or session's claims name, if still valid (version unchanged)."""
    if not isinstance(claims, dict):
        return None
    uid, version = claims.get("u"), claims.get("v")
    if not isinstance(uid, int) or not isinstance(version, int):
        return None
    user = session.get(User, uid)
    if user is None or not user.active or user.token_version != version:
        return None
    return user


def read_token(token: str) -> object | None:
    """The claims of a bearer token, or None when forged or expired."""
    try:
        return serializer("api-token").loads(token, max_age=get_settings().token_ttl_minutes * 60)
    except BadSignature:
        return None


def printable(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with control characters replaced (safe for the ledger's fields)."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit]) or "?"


def log_denied(session: Session, *, who: str, what: str, why: str) -> None:
    """Write a denied access to the ledger in its own transaction."""
    # A refused request may carry anything in its path: the ledger keeps a printable excerpt.
    session.rollback()
    ledger.append(session, kind="auth.denied", subject=printable(what, 128), actor=printable(who, 128),
                  payload={"why": printable(why, 200)})
    session.commit()
