"""Database-backed commands of the CLI (kept apart so `yidi draw` never imports the ORM)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from api.migrate import upgrade
from config.db import get_engine


def init_db() -> str:
    """Bring the schema up to date (Alembic migrations)."""
    engine = get_engine()
    upgrade(engine)
    return f"database ready ({engine.url.get_backend_name()})"


def import_db(doc: dict[str, Any]) -> str:
    """Upsert an instance document into the database."""
    from evaluation.importer import import_instance

    init_db()
    with Session(get_engine()) as session:
        report = import_instance(session, doc)
        session.commit()
    return "imported: " + json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True)


def export_db(project_codes: list[str] | None, *, with_drawn: bool = False) -> str:
    """The database state as a draw-instance/1 JSON text."""
    from evaluation.export import export_instance
    from evaluation.service import deployment_rules

    with Session(get_engine()) as session:
        doc = export_instance(session, project_codes=project_codes, rules=deployment_rules().as_json(),
                              with_drawn=with_drawn)
    return json.dumps(doc, ensure_ascii=False, indent=1)


# Demo accounts: (user name, role, centre-wide, site codes). Their password is the setting
# YIDI_DEMO_PASSWORD; they exist only in a database loaded by `yidi serve --demo`.
DEMO_USERS: tuple[tuple[str, str, bool, tuple[str, ...]], ...] = (
    ("admin", "admin", True, ()),
    ("coordinator", "coordinator", True, ()),
    ("supervisor", "supervisor", True, ()),
)


def ensure_demo_users(session: Session) -> list[str]:
    """Create the demo accounts that do not exist yet; returns their names."""
    from access.models import User, UserCreate
    from accounts.service import create_user
    from config.settings import get_settings

    made = []
    for name, role, all_sites, sites in DEMO_USERS:
        if session.exec(select(User.id).where(User.username == name)).first() is None:
            create_user(session, data=UserCreate(username=name, role=role, all_sites=all_sites,  # type: ignore[arg-type]
                                                 site_codes=list(sites), password=get_settings().demo_password),
                        actor="demo")
            made.append(name)
    # A kiosk account for the first room of the main centre: the check-in terminal and room camera pages.
    from venues.models import Room, Site

    first = session.exec(select(Room, Site).where(Room.site_id == Site.id)
                         .order_by(Site.id, Room.id)).first()  # type: ignore[arg-type]
    if first is not None and session.exec(select(User.id).where(User.username == "terminal")).first() is None:
        room, site = first
        create_user(session, data=UserCreate(username="terminal", role="terminal", room_code=room.code,
                                             site_codes=[site.code], password=get_settings().demo_password),
                    actor="demo")
        made.append("terminal")
    session.commit()
    return made


def ensure_demo() -> str:
    """Load the small demo province and demo accounts when the database holds no site yet."""
    from api.demo_data import small
    from venues.models import Site

    with Session(get_engine()) as session:
        if session.exec(select(Site)).first() is not None:
            return "demo: database already holds data; left as it is"
    import datetime as dt

    from config import clock
    from scheduler.normal_form import display_tz

    # The demo day lies a week ahead, so its draws stay sealed and its notifications are due.
    day = clock.now().astimezone(display_tz()).date() + dt.timedelta(days=7)
    message = "demo: " + import_db(small(day=day))
    with Session(get_engine()) as session:
        users = ensure_demo_users(session)
        users += ensure_demo_opening(session, day)
    return message + f"; demo users {', '.join(users)} (password: the setting YIDI_DEMO_PASSWORD)"


def ensure_demo_opening(session: Session, day: Any) -> list[str]:
    """A bid-opening room at the main centre, its camera account and a public opening at 09:00 on `day`."""
    import datetime as dt

    from access.models import User, UserCreate
    from accounts.service import create_user
    from config import clock
    from config.settings import get_settings
    from openings import service as openings
    from openings.models import PublicOpeningCreate
    from scheduler.normal_form import display_tz
    from venues import service as venues
    from venues.models import RoomCreate, Site

    by_code = select(Site).order_by(Site.code)  # type: ignore[arg-type]
    site = session.exec(by_code.where(Site.kind == "main_centre")).first() or session.exec(by_code).first()
    if site is None:
        return []
    code = f"{site.code}-KB1"
    venues.add_room(session, site_code=site.code, data=RoomCreate(code=code, seats=30, purpose="opening"))
    start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=display_tz())
    opening = PublicOpeningCreate(title="演示项目开标（公开直播）", start=start, end=start + dt.timedelta(hours=1))
    openings.create_opening(session, room_code=code, data=opening, actor="demo", now=clock.now())
    made = []
    if session.exec(select(User.id).where(User.username == "opening_terminal")).first() is None:
        create_user(session, data=UserCreate(username="opening_terminal", role="terminal", room_code=code,
                                             site_codes=[site.code], password=get_settings().demo_password),
                    actor="demo")
        made.append("opening_terminal")
    session.commit()
    return made
