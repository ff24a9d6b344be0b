"""Day-wide indexes of the independent checker over one instance and one result."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from config.rules import RuleParams
from tests.checker_util import peak_load


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Day:
    """Indexes over one instance and one result, so each project is checked in time linear in its size."""

    def __init__(self, instance: dict[str, Any], result: dict[str, Any], params: RuleParams) -> None:
        self.params = params
        self.experts = {e["id"]: e for e in instance.get("experts") or []}
        self.sites = {s["id"]: s for s in instance.get("sites") or []}
        rooms = [(s["id"], r) for s in self.sites.values() for r in s.get("rooms") or []]
        self.room_site = {r["id"]: site for site, r in rooms}
        self.room_seats = {r["id"]: int(r["seats"]) for _, r in rooms}
        self.relations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rel in instance.get("relations") or []:
            self.relations[rel["expert"]].append(rel)
        self.penalized = {pen["expert"] for pen in instance.get("penalties") or []}
        self.history = [
            (_dt(h["start"]), _dt(h["end"]), h.get("tenderer"), frozenset(h.get("experts") or []),
             h.get("project"))
            for h in instance.get("history") or []
        ]
        self.history_of: dict[str, list[int]] = defaultdict(list)
        for i, h in enumerate(self.history):
            for x in h[3]:
                self.history_of[x].append(i)
        self.bookings: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for b in instance.get("bookings") or []:
            self.bookings[b["expert"]].append((_dt(b["start"]), _dt(b["end"])))
        self.projects = {p["id"]: p for p in instance.get("projects") or []}
        self.window = {pid: (_dt(p["start"]), _dt(p["end"])) for pid, p in self.projects.items()}
        self.results: dict[str, dict[str, Any]] = {}
        for rp in result.get("projects") or []:
            if isinstance(rp, dict) and rp.get("project") in self.projects:
                self.results.setdefault(rp["project"], rp)
        self.seated: dict[str, set[str]] = defaultdict(set)
        # room -> (start, end, people, owning project or None for a room booking)
        self.room_use: dict[str, list[tuple[datetime, datetime, int, str | None]]] = defaultdict(list)
        for rb in instance.get("room_bookings") or []:
            self.room_use[rb["room"]].append((_dt(rb["start"]), _dt(rb["end"]), int(rb["seats"]), None))
        for pid, rp in self.results.items():
            per_room = Counter(s["room"] for s in seats_of(rp) if s["room"] in self.room_seats)
            main_rooms = sorted(r for r in per_room if self.room_site[r] == self.projects[pid]["main_site"])
            for room, count in per_room.items():
                reps = int(self.projects[pid].get("representatives", 0)) if main_rooms[:1] == [room] else 0
                self.room_use[room].append((*self.window[pid], count + reps, pid))
            for seat in seats_of(rp):
                self.seated[seat["expert"]].add(pid)

    def free_seats(self, room: str, pid: str) -> int:
        """Seats of `room` left during project `pid` by everything else in the day."""
        start, end = self.window[pid]
        others = [(max(s, start), min(e, end), n) for s, e, n, owner in self.room_use[room] if owner != pid]
        return self.room_seats[room] - peak_load(others)[0]


def seats_of(rp: dict[str, Any]) -> list[dict[str, str]]:
    """The seats of a result project, each field as a string ("" when missing, which no id equals)."""
    fields = ("expert", "need", "site", "room")
    return [{k: str(s.get(k) or "") for k in fields} for s in rp.get("seats") or [] if isinstance(s, dict)]
