"""Users, password hashing (argon2), login with lockout, signed API tokens, site scopes.

Every login, failed login and lockout is written to the audit ledger; passwords, hashes and
tokens never are, nor are they logged.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session, col, select

import ledger
from api.auth.exceptions import InvalidUserData, LoginFailed, UserExists
from api.auth.models import User, UserCreate, UserPublic, UserSite, UserUpdate
from config.keys import decode_key, key_from_file
from config.settings import get_settings
from experts.models import Expert
from venues.models import Room, Site

logger = logging.getLogger(__name__)
_hasher = PasswordHasher()
_lock = threading.Lock()
_secret_cache: dict[tuple[str, str], bytes] = {}
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


def secret_key() -> bytes:
    """The server secret for sessions, tokens and signed links (settings, else a dev key file)."""
    s = get_settings()
    cache = (s.secret_key, str(s.secret_key_file))
    with _lock:
        if cache not in _secret_cache:
            if s.secret_key:
                _secret_cache[cache] = decode_key(s.secret_key, "settings.secret_key", 32)
            else:
                _secret_cache[cache] = key_from_file(Path(s.secret_key_file), 32, "YIDI_SECRET_KEY")
        return _secret_cache[cache]


def secret_text() -> str:
    """The server secret as text (for libraries that take a string)."""
    return base64.b64encode(secret_key()).decode("ascii")


def serializer(salt: str) -> URLSafeTimedSerializer:
    """A timed signer for one purpose (`salt` keeps purposes apart: a token is not a link)."""
    return URLSafeTimedSerializer(secret_text(), salt=salt)


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def _resolve(session: Session, data: UserCreate | UserUpdate) -> tuple[list[int] | None, dict[str, int | None]]:
    site_ids: list[int] | None = None
    if data.site_codes is not None:
        found = {c: i for c, i in session.exec(select(Site.code, Site.id).where(col(Site.code).in_(data.site_codes)))}
        unknown = sorted(set(data.site_codes) - set(found))
        if unknown:
            raise InvalidUserData("site_codes", f"unknown site codes: {', '.join(unknown)}")
        site_ids = [i for i in found.values() if i is not None]
    refs: dict[str, int | None] = {}
    if isinstance(data, UserCreate):
        if data.expert_code is not None:
            expert_id = session.exec(select(Expert.id).where(Expert.code == data.expert_code)).first()
            if expert_id is None:
                raise InvalidUserData("expert_code", f"no expert with code {data.expert_code!r}")
            refs["expert_id"] = expert_id
        if data.room_code is not None:
            room_id = session.exec(select(Room.id).where(Room.code == data.room_code)).first()
            if room_id is None:
                raise InvalidUserData("room_code", f"no room with code {data.room_code!r}")
            refs["room_id"] = room_id
        if data.role == "expert" and data.expert_code is None:
            raise InvalidUserData("expert_code", "an expert account needs expert_code")
        if data.role == "terminal" and data.room_code is None:
            raise InvalidUserData("room_code", "a terminal account needs room_code")
    return site_ids, refs


def _set_sites(session: Session, user: User, site_ids: list[int]) -> None:
    assert user.id is not None
    for row in session.exec(select(UserSite).where(UserSite.user_id == user.id)):
        session.delete(row)
    session.flush()
    for sid in sorted(set(site_ids)):
        session.add(UserSite(user_id=user.id, site_id=sid))
    session.flush()


def create_user(session: Session, *, data: UserCreate, actor: str = "system") -> User:
    """Create a user with a hashed password and a site scope; UserExists when the name is taken."""
    if session.exec(select(User.id).where(User.username == data.username)).first() is not None:
        raise UserExists(f"a user named {data.username!r} already exists")
    site_ids, refs = _resolve(session, data)
    user = User.model_validate(data, update={"password_hash": hash_password(data.password), **refs})
    session.add(user)
    session.flush()
    _set_sites(session, user, site_ids or [])
    ledger.append(session, kind="user.create", subject=f"user:{user.username}", actor=actor,
                  payload={"role": user.role, "all_sites": user.all_sites, "sites": sorted(data.site_codes)})
    return user


def update_user(session: Session, *, username: str, data: UserUpdate, actor: str = "system") -> User | None:
    """Apply the fields set in `data`; a new password or deactivation ends all sessions."""
    user = get_user(session, username=username)
    if user is None:
        return None
    site_ids, _ = _resolve(session, data)
    changes = data.model_dump(exclude_unset=True, exclude={"password", "site_codes"})
    for name in ("display_name", "active", "all_sites"):  # stored NOT NULL: null cannot mean "clear" here
        if name in changes and changes[name] is None:
            raise InvalidUserData(name, f"{name} may not be null (leave it out to keep it)")
    user.sqlmodel_update(changes)
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        user.token_version += 1
        user.failed_logins = 0
        user.locked_until = None
    if data.active is False:
        user.token_version += 1
    session.add(user)
    if site_ids is not None:
        _set_sites(session, user, site_ids)
    ledger.append(session, kind="user.update", subject=f"user:{user.username}", actor=actor,
                  payload={"fields": sorted(data.model_dump(exclude_unset=True))})
    return user


def get_user(session: Session, *, username: str) -> User | None:
    """The user with this name, or None."""
    return session.exec(select(User).where(User.username == username)).first()


def list_users(session: Session) -> list[User]:
    """All users by name."""
    return list(session.exec(select(User).order_by(col(User.username))).all())


def public(session: Session, user: User) -> UserPublic:
    """The user as shown to an admin (never the hash)."""
    codes = session.exec(select(Site.code).join(UserSite, col(UserSite.site_id) == col(Site.id))
                         .where(UserSite.user_id == user.id).order_by(col(Site.code))).all()
    return UserPublic.model_validate(user, update={"site_codes": list(codes)})


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
    user = get_user(session, username=username)
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
