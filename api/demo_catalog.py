"""The demo province's static part: regions, trading centres with their rooms, organisations (and the
reference data of api.demo_reference, re-exported)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from api.demo_reference import (
    BRANDS,
    BUREAUS,
    CLASS_SHARES,
    COMPANY_KINDS,
    ENG,
    GIVEN,
    GPN,
    GPT,
    GROUPS,
    HOME_SD_KM,
    INACTIVE_SITES,
    PENALTY_REASONS,
    PROJECT_KINDS,
    PUBLIC_EXTRA,
    PUBLIC_KINDS,
    REGION_WEIGHTS,
    RETIRED_GROUPS,
    ROAD_NAMES,
    SITE_IDS,
    SPECIALTIES,
    SURNAMES,
    OrgKind,
    ProjectKind,
    short_name,
    site_name,
)

# The reference data lives in api.demo_reference; it is re-exported here for `demo_catalog as cat`.
__all__ = [
    "BRANDS", "build_orgs", "build_sites", "BUREAUS", "CLASS_OF_ROLE", "CLASS_SHARES", "COMPANY_KINDS", "ENG",
    "full_name", "GIVEN", "GPN", "GPT", "GROUPS", "HOME_SD_KM", "INACTIVE_SITES", "load_regions", "OrgKind",
    "PENALTY_REASONS", "PROJECT_KINDS", "ProjectKind", "PUBLIC_EXTRA", "PUBLIC_KINDS", "Region",
    "REGION_WEIGHTS", "RETIRED_GROUPS", "ROAD_NAMES", "ROLE_OF_HINT", "short_name", "SITE_IDS", "site_name",
    "SPECIALTIES", "stamp", "SURNAMES", "TZ", "World",
]


# --- The static province: regions, trading centres and organisations -------------------------------

TZ = "+08:00"
# role_hint of regions.csv -> the demo's role (first match wins)
ROLE_OF_HINT = (("main", "main"), ("district", "district"), ("sub-centre", "sub"),
                ("prefecture", "prefecture"), ("partner", "partner"))
CLASS_OF_ROLE = {"main": "jinan", "district": "jinan", "sub": "jinan", "prefecture": "prefecture",
                 "partner": "partner"}


def stamp(day: dt.date, minute: int) -> str:
    """ISO 8601 local time (+08:00) of `minute` after midnight of `day`."""
    return f"{day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}:00{TZ}"


@dataclass
class Region:
    """One reference region and what the demo hangs on it."""

    code: str
    name: str
    lat: float
    lon: float
    role: str
    cls: str
    weight: float = 0.0
    orgs: list[int] = field(default_factory=list)

    @property
    def pref(self) -> str:
        """Prefecture-level prefix compared by rule S6."""
        return self.code[:4]


@dataclass
class World:
    """Everything generated so far, indexed by integers; `doc` pieces are built from it."""

    day: dt.date
    rng: random.Random
    nrng: np.random.Generator
    regions: list[Region]
    sites: list[dict[str, Any]] = field(default_factory=list)
    site_region: list[int] = field(default_factory=list)
    org_names: list[str] = field(default_factory=list)
    org_region: list[int] = field(default_factory=list)
    org_kind: list[str] = field(default_factory=list)
    org_tag: list[str] = field(default_factory=list)
    org_activity: list[float] = field(default_factory=list)
    experts: list[dict[str, Any]] = field(default_factory=list)
    ex_ids: list[str] = field(default_factory=list)
    ex_region: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ex_lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ex_lon: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ex_age: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ex_status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ex_employer: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    relations: list[dict[str, Any]] = field(default_factory=list)
    penalties: list[dict[str, Any]] = field(default_factory=list)
    penalised: set[int] = field(default_factory=set)
    on_leave: set[int] = field(default_factory=set)
    history: list[tuple[dt.date, int, int, int, list[int]]] = field(default_factory=list)
    bookings: list[tuple[int, int, int]] = field(default_factory=list)
    room_bookings: list[dict[str, Any]] = field(default_factory=list)

    def org_id(self, i: int) -> str:
        """Public id of organisation i."""
        return f"ORG-{i + 1:05d}"

    def ex_id(self, i: int) -> str:
        """Public id of expert i."""
        return self.ex_ids[i]

    def staff_weight(self, o: int) -> float:
        """How likely an expert of the region works at organisation o (big design institutes, few bureaus)."""
        kind = self.org_kind[o]
        if kind in COMPANY_KINDS:
            return COMPANY_KINDS[kind].staff * self.org_activity[o]
        return PUBLIC_KINDS[kind].staff


def load_regions(sites_csv: Path | None) -> list[Region]:
    """Read the reference regions (the packaged venues/data/regions.csv unless a path is given)."""
    if sites_csv is None:
        text = resources.files("venues").joinpath("data/regions.csv").read_text(encoding="utf-8")
    else:
        text = Path(sites_csv).read_text(encoding="utf-8")
    out: list[Region] = []
    for row in csv.DictReader(io.StringIO(text)):
        hint = row.get("role_hint", "").lower()
        role = next((r for key, r in ROLE_OF_HINT if key in hint), "prefecture")
        out.append(Region(row["region_code"].strip(), row["name_zh"].strip(), float(row["lat"]),
                          float(row["lon"]), role, CLASS_OF_ROLE[role]))
    for cls, share in CLASS_SHARES.items():
        members = [r for r in out if r.cls == cls]
        total = sum(REGION_WEIGHTS.get(r.code, 4.0) for r in members)
        for r in members:
            r.weight = share * REGION_WEIGHTS.get(r.code, 4.0) / total
    norm = sum(r.weight for r in out)
    for r in out:
        r.weight /= norm
    return out


def build_sites(w: World) -> None:
    """Trading centres: the Jinan main centre, its sub-centres, prefecture centres, alliance partners."""
    used: set[str] = set()
    for ri, r in enumerate(w.regions):
        if r.role == "district":
            continue
        sid = SITE_IDS.get(r.code) or f"S{r.code}"
        if sid in used:
            sid = f"S{r.code}"
        used.add(sid)
        if r.role == "main":
            seats = [15, 13, 11, 9]
        elif r.role == "sub":
            seats = [w.rng.randint(7, 12) for _ in range(w.rng.choice((2, 2, 3)))]
        elif r.role == "prefecture":
            seats = [w.rng.randint(8, 14) for _ in range(3 if r.weight > 0.025 else w.rng.choice((2, 3)))]
            seats += [w.rng.randint(5, 8)] if r.weight > 0.06 else []  # the big cities have a fourth room
        else:
            seats = [w.rng.randint(5, 11) for _ in range(w.rng.randint(1, 3))]
        role = "sub" if r.role == "sub" else "centre"
        w.sites.append({
            "id": sid, "name": site_name(r.name, role), "region": r.code, "lat": r.lat, "lon": r.lon,
            "active": r.code not in INACTIVE_SITES,
            "rooms": [{"id": f"{sid}-R{k + 1}", "seats": n}
                      for k, n in enumerate(sorted(seats, reverse=True))],
        })
        w.site_region.append(ri)


def full_name(regions: list[Region], r: Region) -> str:
    """How public bodies of a region are named: Jinan's districts under the city (济南市章丘区)."""
    main = next((x for x in regions if x.role == "main"), None)
    if r.cls == "jinan" and main is not None and r is not main:
        return r.name if r.name.startswith(short_name(main.name)) else main.name + r.name
    return r.name


def build_orgs(w: World, n_orgs: int) -> None:
    """Public bodies (tenderers, supervisors) and companies in every region, sized by its expert weight."""
    names: set[str] = set()

    def add(name: str, ri: int, kind: str, tag: str, activity: float) -> None:
        base, k = name, 2
        while name in names:
            name, k = f"{base}（{k}）", k + 1
        names.add(name)
        w.regions[ri].orgs.append(len(w.org_names))
        w.org_names.append(name)
        w.org_region.append(ri)
        w.org_kind.append(kind)
        w.org_tag.append(tag)
        w.org_activity.append(activity)

    kinds = list(COMPANY_KINDS)
    shares = [COMPANY_KINDS[k].share for k in kinds]
    for ri, r in enumerate(w.regions):
        n_reg = max(8, round(n_orgs * r.weight))
        full = full_name(w.regions, r)
        # companies of Jinan's districts carry the city's name
        city = next((x.name for x in w.regions if x.role == "main"), r.name) if r.cls == "jinan" else r.name
        short = short_name(city)
        city_level = r.role in ("main", "prefecture", "partner")
        n_bureau = min(len(BUREAUS), max(5, n_reg // 6)) if city_level else min(6, max(3, n_reg // 8))
        n_extra = min(len(PUBLIC_EXTRA), max(3, n_reg // 12)) if city_level else 1
        for rank, (bureau, tag) in enumerate(BUREAUS[:n_bureau]):
            add(full + bureau, ri, "bureau", tag, w.rng.lognormvariate(0, 0.5) / (rank + 3))
        for rank, (kind, pattern, tag) in enumerate(PUBLIC_EXTRA[:n_extra]):
            name = pattern.format(c=short_name(full) if city_level else full)
            name = name.replace("市市", "市").replace("区市", "区").replace("县市", "县")
            add(name, ri, kind, tag, w.rng.lognormvariate(0, 0.5) / (rank + 4))
        for _ in range(max(3, n_reg - n_bureau - n_extra)):
            kind = w.rng.choices(kinds, weights=shares)[0]
            suffix = w.rng.choice(COMPANY_KINDS[kind].suffixes)
            for _ in range(20):  # a fresh trade name, as the registry would insist on
                name = f"{short}{w.rng.choice(BRANDS)}{w.rng.choice(BRANDS)}{suffix}"
                if name not in names:
                    break
            add(name, ri, kind, "", w.rng.lognormvariate(0, 0.8))
