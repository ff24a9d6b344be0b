"""User administration: create, edit (role, binding, scope, password), list; the last admin is kept.

Every change is written to the audit ledger; a new password, role or binding, or a deactivation,
ends the user's tokens and sessions (token_version).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

import ledger
from access.exceptions import InvalidUserData, LastAdminError, UserExists
from access.models import User, UserCreate, UserPublic, UserSite, UserUpdate
from access.service import hash_password
from experts.models import Expert
from venues.models import Room, Site


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
            refs["expert_id"] = _bound_id(session, "expert_code", data.expert_code)
        if data.room_code is not None:
            refs["room_id"] = _bound_id(session, "room_code", data.room_code)
        if data.role == "expert" and data.expert_code is None:
            raise InvalidUserData("expert_code", "an expert account needs expert_code")
        if data.role == "terminal" and data.room_code is None:
            raise InvalidUserData("room_code", "a terminal account needs room_code")
    return site_ids, refs


def _bound_id(session: Session, field: str, code: str) -> int:
    """The id of the expert (field expert_code) or room (room_code) an account is bound to."""
    table = Expert if field == "expert_code" else Room
    found = session.exec(select(table.id).where(table.code == code)).first()
    if found is None:
        raise InvalidUserData(field, f"no {'expert' if table is Expert else 'room'} with code {code!r}")
    return found


def _role_of(session: Session, user: User, data: UserUpdate) -> tuple[str, int | None, int | None]:
    """The role and binding (expert id, room id) `data` asks for, kept consistent; nothing is changed yet."""
    if "role" in data.model_fields_set and data.role is None:
        raise InvalidUserData("role", "role may not be null (leave it out to keep it)")
    role = data.role or user.role
    # A new role drops the old binding (its own comes with the request); the same role keeps it.
    expert_id, room_id = (user.expert_id, user.room_id) if role == user.role else (None, None)
    for field, code, needs in (("expert_code", data.expert_code, "expert"), ("room_code", data.room_code, "terminal")):
        if code is not None and role != needs:
            raise InvalidUserData(field, f"only a {needs} account is bound by {field} (the role is {role})")
        if code is None and role == needs and role != user.role:
            raise InvalidUserData(field, f"changing the role to {needs} needs {field} in the same request")
    if data.expert_code is not None:
        expert_id = _bound_id(session, "expert_code", data.expert_code)
    if data.room_code is not None:
        room_id = _bound_id(session, "room_code", data.room_code)
    return role, expert_id, room_id


def _keep_an_admin(session: Session, user: User, field: str) -> None:
    """Refuse (LastAdminError) when `user`, an active admin about to stop being one, is the last."""
    # Locking every active admin row (in id order, so concurrent demotions queue instead of deadlocking)
    # keeps two admins from demoting each other at once on PostgreSQL; SQLite runs it again after the write.
    admins = session.exec(select(User.id).where(User.role == "admin", col(User.active).is_(True))
                          .order_by(col(User.id)).with_for_update()).all()
    if not [i for i in admins if i != user.id]:
        raise LastAdminError(field, f"{user.username} is the last active admin: make another user admin first")


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
    """Apply the fields set in `data`; a new password, role or binding, or deactivation ends all sessions.

    LastAdminError when the change would leave no active admin; InvalidUserData names a bad field.
    """
    user = get_user(session, username=username)
    if user is None:
        return None
    site_ids, _ = _resolve(session, data)
    changes = data.model_dump(exclude_unset=True, exclude={"password", "site_codes", "role", "expert_code",
                                                            "room_code"})
    for name in ("display_name", "active", "all_sites"):  # stored NOT NULL: null cannot mean "clear" here
        if name in changes and changes[name] is None:
            raise InvalidUserData(name, f"{name} may not be null (leave it out to keep it)")
    old_role = user.role
    role, expert_id, room_id = _role_of(session, user, data)
    demoted = user.role == "admin" and user.active and (role != "admin" or changes.get("active", True) is False)
    guard = "role" if role != "admin" else "active"
    if demoted:  # before anything is written, so the admin rows are locked before this user's row
        _keep_an_admin(session, user, guard)
    rebound = (role, expert_id, room_id) != (user.role, user.expert_id, user.room_id)
    user.role, user.expert_id, user.room_id = role, expert_id, room_id  # type: ignore[assignment]
    user.sqlmodel_update(changes)
    if demoted:
        # Again once written: SQLite ignores FOR UPDATE, but this write holds its one writer lock.
        session.add(user)
        session.flush()
        _keep_an_admin(session, user, guard)
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        user.failed_logins = 0
        user.locked_until = None
    if data.password is not None or data.active is False or rebound:
        user.token_version += 1
    session.add(user)
    if site_ids is not None:
        _set_sites(session, user, site_ids)
    payload: dict[str, object] = {"fields": sorted(data.model_dump(exclude_unset=True))}
    if rebound:
        payload.update(role_from=old_role, role_to=user.role, sessions_ended=True)
    ledger.append(session, kind="user.update", subject=f"user:{user.username}", actor=actor, payload=payload)
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
