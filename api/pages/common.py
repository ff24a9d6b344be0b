"""What every page shares: templates, language, the logged-in user, CSRF checks and error pages."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from access import service as auth_service
from access.deps import csrf_ok, csrf_token, optional_principal
from access.service import Principal
from api import i18n
from config.settings import get_settings
from config.types import year_in_range
from operations.models import OPERATION_STATUSES

logger = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
LANG_COOKIE = "lang"
CONSOLE_ROLES = frozenset({"admin", "coordinator", "supervisor"})
COORDINATORS = frozenset({"admin", "coordinator"})
# Which roles see which navigation entries (the pages check again: the nav only hides).
NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/calendar", "nav.calendar", CONSOLE_ROLES),
    ("/rooms/day", "nav.rooms", CONSOLE_ROLES),
    ("/dayplan", "nav.dayplan", COORDINATORS),
    ("/stats", "nav.stats", CONSOLE_ROLES),
    ("/sites", "nav.sites", CONSOLE_ROLES),
    ("/closures", "nav.closures", CONSOLE_ROLES),
    ("/recordings", "nav.recordings", CONSOLE_ROLES),
    ("/audit", "nav.audit", CONSOLE_ROLES),
    ("/experts", "nav.experts", COORDINATORS),
    ("/users", "nav.users", frozenset({"admin"})),
    ("/me", "nav.me", frozenset({"expert"})),
)


def language(request: Request) -> str:
    """The page language: `?lang=` first, then the `lang` cookie, else Chinese."""
    for value in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in i18n.LANGUAGES:
            return value
    return i18n.DEFAULT_LANGUAGE


def local_tz() -> timezone:
    """The display time zone of the deployment (UTC+8 in China)."""
    return timezone(timedelta(hours=get_settings().display_utc_offset_hours))


def aware(value: datetime) -> datetime:
    """A stored datetime as aware UTC (SQLite returns naive UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local(value: datetime) -> datetime:
    """A stored datetime in the display time zone."""
    return aware(value).astimezone(local_tz())


def fmt_dt(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A datetime as local text (empty for None; UTC when shifting it would leave datetime's range)."""
    if value is None:
        return ""
    try:
        return local(value).strftime(pattern)
    except OverflowError:
        # Only a row stored before the input bounds (config.types) gets here: show it rather than fail.
        return aware(value).strftime(pattern) + " UTC"


def render(request: Request, name: str, context: dict[str, Any], *, who: Principal | None = None,
           status_code: int = 200) -> Response:
    """Render a template in the request's language with the shell's context (user, nav, CSRF token)."""
    lang = language(request)
    nav = [(href, key) for href, key, roles in NAV if who is not None and who.role in roles]
    other = "en" if lang == "zh" else "zh"
    # The language switch keeps the page's own query (month, site, date …).
    switch = request.url.path + "?" + urlencode({**request.query_params, "lang": other})
    base = {"t": i18n.translator(lang), "has_message": i18n.has, "lang": lang, "who": who, "nav": nav,
            "csrf": csrf_token(request), "path": request.url.path, "fmt_dt": fmt_dt, "lang_switch": switch,
            "operation_labels": operation_labels(lang)}
    response = TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    if request.query_params.get("lang") in i18n.LANGUAGES and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the login form, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def error_page(request: Request, who: Principal | None, status_code: int, message_key: str,
               **values: object) -> Response:
    """An error page in the request's language (403, 404, 422 …)."""
    return render(request, "error.html", {"status": status_code, "message_key": message_key, "values": values},
                  who=who, status_code=status_code)


def console_user(request: Request, session: Session) -> Principal | Response:
    """The logged-in console user, or the response to send instead (login redirect or 403 page)."""
    who = optional_principal(request, session)
    if who is None:
        return login_redirect(request)
    if who.role not in CONSOLE_ROLES:
        return refuse(request, session, who, f"role {who.role}")
    return who


def member(request: Request, session: Session, roles: frozenset[str], *,
           centre_wide: str | None = None) -> Principal | Response:
    """The console user when one of `roles` (and centre-wide when `centre_wide` names the refusal), else the page.

    A refusal is ledgered with `centre_wide` as its reason when given, else the user's role.
    """
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    return role_check(request, session, who, roles, centre_wide=centre_wide)


def role_check(request: Request, session: Session, who: Principal, roles: frozenset[str], *,
               centre_wide: str | None = None) -> Principal | Response:
    """`who` when one of `roles` (and centre-wide when `centre_wide` is given), else the ledgered 403 page."""
    if who.role not in roles or (centre_wide is not None and not who.all_sites):
        return refuse(request, session, who, centre_wide or f"role {who.role}")
    return who


def back_to_project(request: Request, code: str, anchor: str,
                    flash: dict[str, object] | None = None) -> RedirectResponse:
    """Back to a project page's `anchor` (303), with a flash message shown there once when given."""
    if flash is not None:
        request.session["flash"] = flash
    return RedirectResponse(f"/projects/{quote(code, safe='')}#{anchor}", status_code=303)


def refuse(request: Request, session: Session, who: Principal, why: str) -> Response:
    """Ledger a role refusal and show the 403 page."""
    auth_service.log_denied(session, who=who.actor, what=f"{request.method} {request.url.path}"[:128], why=why)
    session.commit()
    return error_page(request, who, 403, "error.403")


def hide(request: Request, session: Session, who: Principal, what: str) -> Response:
    """Ledger an out-of-scope access and answer 404, so nothing about the object leaks."""
    auth_service.log_denied(session, who=who.actor, what=f"{request.method} {request.url.path} {what}"[:128],
                            why="out of scope")
    session.commit()
    return error_page(request, who, 404, "error.404")


def bad_csrf(request: Request, session: Session, who: Principal | None, given: str | None) -> Response | None:
    """The 403 page (ledgered) when the form's CSRF token is missing or wrong, else None."""
    if csrf_ok(request, given):
        return None
    auth_service.log_denied(session, who=who.actor if who else "anonymous",
                            what=f"{request.method} {request.url.path}"[:128], why="csrf")
    session.commit()
    return error_page(request, who, 403, "error.csrf")


def safe_next(target: str | None) -> str:
    """A local redirect target (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def in_range(value: date) -> bool:
    """True when a date lies in the years the service accepts (config.types; a year 1 or 9999 would overflow)."""
    return year_in_range(value)


def operation_labels(lang: str) -> dict[str, str]:
    """The status words of a long operation in `lang`, for the progress scripts."""
    keys = {status: "operation." + status for status in OPERATION_STATUSES}
    return {status: i18n.translate(lang, key) for status, key in keys.items()}


def explain(request: Request, exc: Exception, field: str | None = None) -> str:
    """An error as the page shows it: its field, then its catalogue message in the page's language or its text."""
    key = getattr(exc, "message_key", None)
    text = i18n.translate(language(request), key, **getattr(exc, "message_values", {})) if key else str(exc)
    return f"{field}: {text}" if field else text


def script_messages(request: Request, keys: tuple[str, ...]) -> dict[str, str]:
    """The messages a page's script shows, in the page's language (embedded, no second fetch)."""
    t = i18n.translator(language(request))
    return {key: t(key) for key in keys}


def terminal_room(request: Request, session: Session) -> tuple[Principal, Any] | Response:
    """The logged-in terminal user and its room; else the login redirect, the ledgered 403 or the 404 page."""
    from venues.models import Room  # the console's common module stays free of domain imports at load

    who = optional_principal(request, session)
    if who is None:
        return login_redirect(request)
    if who.role != "terminal":
        return refuse(request, session, who, f"role {who.role}")
    room = session.get(Room, who.room_id) if who.room_id is not None else None
    if room is None or room.id is None:
        # A terminal account without a room cannot check anybody in or publish: say so rather than fail.
        logger.warning("terminal user %s has no room", who.username)
        return error_page(request, who, 404, "error.404")
    return who, room
