"""The normal form of a `draw-instance/1` document, and the windows an export cuts history and bookings to.

`normalise_instance(doc)` gives the form the round trip preserves: import_instance(doc) followed by
export_instance(rules=doc["rules"]) yields exactly normalise_instance(doc) — the parsed document
with defaults filled in, datetimes re-rendered at the display offset, lists sorted, set-like lists
(specialties, bidders, supervisor orgs, excluded experts, a committee's experts) de-duplicated,
and history/bookings cut to the windows above.

Exported datetimes are rendered at the display offset (settings.display_utc_offset_hours).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from config.rules import load_rules
from config.settings import get_settings
from scheduler.instance import parse_instance

HISTORY_DAYS = 400
BUSY_MARGIN = timedelta(days=1)


def display_tz() -> timezone:
    """The fixed offset exported datetimes are rendered at (settings, default UTC+8)."""
    return timezone(timedelta(hours=int(getattr(get_settings(), "display_utc_offset_hours", 8))))


def render_dt(value: datetime, tz: timezone) -> str:
    """An aware datetime in ISO 8601 at the offset `tz`."""
    return value.astimezone(tz).isoformat()


def history_days(rules: dict[str, Any] | None) -> int:
    """Days of history a draw with these rule overrides can look back at (at least HISTORY_DAYS)."""
    params = load_rules(get_settings().rules_file).merged(rules)
    return max(HISTORY_DAYS, params.familiar_pair_days)


class Windows:
    """The history and busy windows of a plan; everything passes when the plan is empty."""

    def __init__(self, spans: list[tuple[datetime, datetime]], history_days: int) -> None:
        self.empty = not spans
        if spans:
            first = min(s for s, _ in spans)
            self.hist_lo = first - timedelta(days=history_days)
            self.hist_hi = max(s for s, _ in spans)
            self.busy_lo = first - BUSY_MARGIN
            self.busy_hi = max(e for _, e in spans) + BUSY_MARGIN

    def history(self, start: datetime) -> bool:
        """True when a past committee starting then lies in the history window."""
        return self.empty or self.hist_lo <= start < self.hist_hi

    def busy(self, start: datetime, end: datetime) -> bool:
        """True when an engagement [start, end) overlaps the busy window."""
        return self.empty or (start < self.busy_hi and end > self.busy_lo)


def canonical_order(doc: dict[str, Any]) -> dict[str, Any]:
    """Sort every list of a rendered instance document (in place) and return it."""
    for site in doc["sites"]:
        site["rooms"].sort(key=lambda r: r["id"])
    doc["sites"].sort(key=lambda s: s["id"])
    doc["orgs"].sort(key=lambda o: o["id"])
    for e in doc["experts"]:
        e["specialties"] = sorted(set(e["specialties"]))
        e["leave"].sort(key=lambda lv: (lv["from"], lv["to"]))
    doc["experts"].sort(key=lambda e: e["id"])
    doc["relations"].sort(key=lambda r: (r["expert"], r["org"], r["kind"], r["from"] or "", r["to"] or ""))
    doc["penalties"].sort(key=lambda p: (p["expert"], p["date"], p["reason"]))
    for h in doc["history"]:
        h["experts"] = sorted(set(h["experts"]))
    doc["history"].sort(key=lambda h: h["project"])
    doc["bookings"].sort(key=lambda b: (b["expert"], b["start"], b["end"]))
    doc["room_bookings"].sort(key=lambda b: (b["room"], b["start"], b["end"], b["seats"]))
    for p in doc["projects"]:
        for key in ("bidders", "supervisor_orgs", "excluded_experts"):
            p[key] = sorted(set(p[key]))
        p["needs"].sort(key=lambda n: n["specialty"])
    doc["projects"].sort(key=lambda p: p["id"])
    return doc


def normalise_instance(doc: dict[str, Any]) -> dict[str, Any]:
    """The normal form of an instance document that an import → export round trip reproduces."""
    inst = parse_instance(doc)
    out: dict[str, Any] = inst.model_dump(mode="python", by_alias=True)
    tz = display_tz()
    win = Windows([(p.start, p.end) for p in inst.projects], history_days(out["rules"]))
    out["history"] = [h for h in out["history"] if win.history(h["start"])]
    out["bookings"] = [b for b in out["bookings"] if win.busy(b["start"], b["end"])]
    out["room_bookings"] = [b for b in out["room_bookings"] if win.busy(b["start"], b["end"])]
    for key in ("history", "bookings", "room_bookings", "projects"):
        for item in out[key]:
            item["start"], item["end"] = render_dt(item["start"], tz), render_dt(item["end"], tz)
    for e in out["experts"]:
        e["birth_date"] = e["birth_date"].isoformat()
        e["leave"] = [{"from": lv["from"].isoformat(), "to": lv["to"].isoformat()} for lv in e["leave"]]
    for r in out["relations"]:
        r["from"] = r["from"] and r["from"].isoformat()
        r["to"] = r["to"] and r["to"].isoformat()
    for pen in out["penalties"]:
        pen["date"] = pen["date"].isoformat()
    return canonical_order(out)
