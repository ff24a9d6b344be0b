"""Texts of messages and of the RSVP page (Jinja2 templates; Simplified Chinese first, English below).

A message gives the evaluation's time, the site (name, city, address) and the room, and the
confirm/decline links. It never names the project, its tenderer, agent, bidders or budget: the
message is the only place the expert learns of the seat, and it must not let anyone guess the
project from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from config.settings import get_settings

INTROS: dict[str, tuple[str, str]] = {
    "draw": ("您已被随机抽取为以下评标活动的评标专家。",
             "You have been drawn at random as an expert for the evaluation below."),
    "replacement": ("您已被抽取为以下评标活动的替补评标专家。",
                    "You have been drawn as a replacement expert for the evaluation below."),
    "reminder": ("提醒：您将参加以下评标活动。", "Reminder: you are expected at the evaluation below."),
}
SUBJECTS: dict[str, tuple[str, str]] = {
    "draw": ("评标邀请", "Invitation to an evaluation"),
    "replacement": ("评标邀请（替补）", "Invitation to an evaluation (replacement)"),
    "reminder": ("评标提醒", "Evaluation reminder"),
}
PAGE_TEXT: dict[str, dict[str, str]] = {
    "zh": {"title": "评标邀请回复", "time": "评标时间", "site": "评标地点", "room": "评标室", "status": "当前状态",
           "confirm": "确认参加", "decline": "无法参加", "other_lang": "English",
           "pending": "尚未回复", "confirmed": "已确认参加", "declined": "已谢绝"},
    "en": {"title": "Reply to the evaluation invitation", "time": "Time", "site": "Venue", "room": "Room",
           "status": "Status", "confirm": "Confirm", "decline": "Decline", "other_lang": "中文",
           "pending": "no answer yet", "confirmed": "confirmed", "declined": "declined"},
}


@dataclass(frozen=True)
class SeatFacts:
    """What a seat holder may be told: when, where, which room (no project particulars)."""

    when: str
    offset: str
    site_name: str
    city_zh: str
    city_en: str
    address: str
    room: str


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=PackageLoader("notify", "templates"),
                       autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


def local_time(value: datetime) -> tuple[str, str]:
    """`value` in the display time zone: ("YYYY-MM-DD HH:MM", "+8")."""
    hours = get_settings().display_utc_offset_hours
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    local = aware.astimezone(timezone(timedelta(hours=hours)))
    return local.strftime("%Y-%m-%d %H:%M"), f"{hours:+d}"


def message(*, kind: str, channel: str, facts: SeatFacts, confirm_url: str, decline_url: str) -> tuple[str, str]:
    """The (subject, body) of a message of `kind` for `channel` ("email" or "sms")."""
    zh_intro, en_intro = INTROS[kind]
    zh_subject, en_subject = SUBJECTS[kind]
    ctx: dict[str, Any] = {
        **facts.__dict__, "confirm_url": confirm_url, "decline_url": decline_url,
        "zh": {"greeting": "专家您好：", "intro": zh_intro}, "en": {"greeting": "Dear expert,", "intro": en_intro},
    }
    template = "message.txt" if channel == "email" else "sms.txt"
    body = _env().get_template(template).render(**ctx)
    return f"{zh_subject} {facts.when} / {en_subject}", body


def page(*, lang: str, facts: SeatFacts | None, status: str | None, message_text: str = "", error: bool = False,
         can_answer: bool = False, action: str | None = None) -> str:
    """The HTML of the RSVP page."""
    lang = "en" if lang == "en" else "zh"
    shown = None
    if facts is not None:
        shown = {"when": facts.when, "offset": facts.offset, "site_name": facts.site_name,
                 "city": facts.city_en if lang == "en" else facts.city_zh, "address": facts.address,
                 "room": facts.room, "status": status or "pending"}
    return _env().get_template("rsvp.html").render(lang=lang, t=PAGE_TEXT[lang], facts=shown, message=message_text,
                                                   error=error, can_answer=can_answer, action=action)
