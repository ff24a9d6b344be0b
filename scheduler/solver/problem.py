"""The draw problem as frozen, integer-indexed dataclasses (no ids, no database, no clock)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from config.rules import RuleParams

NO_ORG = -1


@dataclass(frozen=True, eq=False)
class Sites:
    """Sites by index; `rooms[s]` lists the room indices of site s."""

    region4: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    active: np.ndarray
    rooms: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, eq=False)
class Rooms:
    """Rooms by index."""

    site: np.ndarray
    seats: np.ndarray


@dataclass(frozen=True, eq=False)
class Experts:
    """The pool, one array element per expert; `dist_km[e, s]` is home-to-site distance."""

    birth_y: np.ndarray
    birth_m: np.ndarray
    birth_d: np.ndarray
    region4: np.ndarray
    employer: np.ndarray
    active: np.ndarray
    penalized: np.ndarray
    dist_km: np.ndarray

    @property
    def n(self) -> int:
        """Number of experts."""
        return int(self.employer.shape[0])


@dataclass(frozen=True, eq=False)
class Intervals:
    """Per-expert engagements [start, end) in epoch seconds."""

    expert: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass(frozen=True, eq=False)
class History:
    """Past committees as member rows sorted by start, plus the pairs who sat together."""

    member_expert: np.ndarray
    member_start: np.ndarray
    member_tenderer: np.ndarray
    pair_key: np.ndarray  # lo * n_experts + hi, rows sorted by pair_start
    pair_start: np.ndarray


@dataclass(frozen=True, eq=False)
class Need:
    """One specialty need: `matches` are the experts whose specialty starts with `code` (C3)."""

    code: str
    count: int
    matches: np.ndarray


@dataclass(frozen=True, eq=False)
class ProjectSpec:
    """One project; org, site and expert references are indices."""

    index: int
    procedure: str
    budget: float
    region4: int
    tenderer: int
    agent: int
    bidders: tuple[int, ...]
    supervisors: tuple[int, ...]
    start: int
    end: int
    eval_date: int  # proleptic ordinal of the start's local date
    end_date: int
    eval_ymd: tuple[int, int, int]
    size: int
    reps: int
    main_site: int
    aux_sites: tuple[int, ...] | None
    needs: tuple[Need, ...]
    excluded: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything a draw depends on, indexed by integers."""

    rules: RuleParams
    sites: Sites
    rooms: Rooms
    experts: Experts
    leave_expert: np.ndarray
    leave_from: np.ndarray
    leave_to: np.ndarray
    rel_expert: np.ndarray
    rel_org: np.ndarray
    rel_until: np.ndarray  # last evaluation-date ordinal on which the relation still counts (E4)
    engagements: Intervals  # bookings and past committees (E8)
    history: History
    room_booking_room: np.ndarray
    room_booking_seats: np.ndarray
    room_booking_start: np.ndarray
    room_booking_end: np.ndarray
    projects: tuple[ProjectSpec, ...]
    extra: dict[str, object] = field(default_factory=dict)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values; sorting beats numpy 2's hash-based `np.unique` on large int arrays (~60×)."""
    if values.size == 0:
        return values
    s = np.sort(values, kind="stable")
    keep = np.empty(s.shape[0], bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]
