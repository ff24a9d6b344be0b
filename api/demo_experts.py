"""The demo province's experts: homes, ages, status, employers, specialties, leave, relations, penalties."""

from __future__ import annotations

import datetime as dt

import numpy as np

from api import demo_catalog as cat
from api.demo_catalog import World

STATUSES = ("active", "suspended", "removed", "blacklisted")
RELATION_KINDS = ("former_employment", "avoid", "shareholder", "director", "relative", "legal_dispute")


def weighted_draw(nrng: np.random.Generator, cum: np.ndarray, size: int | tuple[int, ...]) -> np.ndarray:
    """Indices drawn with probabilities proportional to the increments of the cumulative weights `cum`."""
    if len(cum) == 0:  # nothing to draw from (a region without experts in a tiny province)
        return np.zeros(size, np.int64)
    return np.minimum(np.searchsorted(cum, nrng.random(size) * cum[-1], side="right"), len(cum) - 1)


def build_experts(w: World, n: int) -> None:
    """Experts: homes around their region, ages, status, employer, specialties, leave."""
    regs, nrng = w.regions, w.nrng
    w.ex_ids = [f"E{i + 1:06d}" for i in range(n)]
    region = nrng.choice(len(regs), size=n, p=np.array([r.weight for r in regs]))
    sd = np.array([cat.HOME_SD_KM[r.cls] for r in regs]) * nrng.uniform(0.7, 1.4, len(regs))
    dx, dy = nrng.normal(0, 1, (2, n)) * sd[region]
    clip = np.minimum(1.0, 2.2 * sd[region] / np.maximum(np.hypot(dx, dy), 1e-9))  # stay within 2.2 sd
    lat0 = np.array([r.lat for r in regs])[region]
    lon0 = np.array([r.lon for r in regs])[region]
    w.ex_lat = np.round(lat0 + dy * clip / 111.2, 5)
    w.ex_lon = np.round(lon0 + dx * clip / (111.2 * np.cos(np.radians(lat0))), 5)
    w.ex_region = region
    years = np.clip(nrng.normal(51.0, 8.0, n), 32.0, 70.9)
    birth = np.datetime64(w.day) - (years * 365.25).astype("timedelta64[D]")
    y, m, d = (birth.astype(f"datetime64[{u}]") for u in ("Y", "M", "D"))
    month, mday = (m - y).astype(int) + 1, (d - m).astype(int) + 1
    later = (month > w.day.month) | ((month == w.day.month) & (mday > w.day.day))
    w.ex_age = w.day.year - (y.astype(int) + 1970) - later.astype(int)  # completed years on the day
    w.ex_status = nrng.choice(4, size=n, p=[0.982, 0.010, 0.005, 0.003])
    # Employer: mostly an organisation of the expert's own region, else one elsewhere in its prefecture;
    # about 5% are retired (no employer), all of them older.
    employer = np.full(n, -1, np.int64)
    retired = (years >= 58) & (nrng.random(n) < 0.27)
    emp_region = region.copy()
    for ri, r in enumerate(regs):
        near = [j for j, x in enumerate(regs) if x.pref == r.pref and x.orgs]
        moved = np.flatnonzero((region == ri) & (nrng.random(n) >= 0.85))
        emp_region[moved] = np.array(near)[nrng.integers(len(near), size=len(moved))]
    for ri, r in enumerate(regs):
        rows = np.flatnonzero((emp_region == ri) & ~retired)
        cum = np.cumsum([w.staff_weight(o) for o in r.orgs])
        employer[rows] = np.array(r.orgs)[weighted_draw(nrng, cum, len(rows))]
    # Specialties: up to six candidates, the first from the employer kind's groups, the others half the
    # time in the same group; an expert keeps the first 1–3 distinct ones.
    kinds = np.array([w.org_kind[o] if o >= 0 else "" for o in employer])
    cand_group = np.empty((n, 6), dtype=object)
    for kind in sorted(set(kinds.tolist())):
        spec = cat.COMPANY_KINDS.get(kind) or cat.PUBLIC_KINDS.get(kind)
        options = np.array(spec.groups if spec else cat.RETIRED_GROUPS, dtype=object)
        rows = np.flatnonzero(kinds == kind)
        cand_group[rows] = options[nrng.integers(len(options), size=(len(rows), 6))]
    same = nrng.random((n, 6)) < 0.5
    same[:, 0] = False
    cand_group[same] = np.broadcast_to(cand_group[:, :1], (n, 6))[same]
    cand = np.empty((n, 6), dtype=object)
    for g, codes in cat.GROUPS.items():
        mask = cand_group == g
        cum = np.cumsum([cat.SPECIALTIES[c][1] for c in codes])
        cand[mask] = np.array(codes, dtype=object)[weighted_draw(nrng, cum, int(mask.sum()))]
    wanted = nrng.choice((1, 2, 3), size=n, p=(0.45, 0.40, 0.15))
    surname = weighted_draw(nrng, np.cumsum([1.0 / (k + 2) ** 0.9 for k in range(len(cat.SURNAMES))]), n)
    given = nrng.integers(len(cat.GIVEN), size=(n, 2))
    two = nrng.random(n) < 0.7
    births = birth.astype(str).tolist()
    org_ids = [w.org_id(o) for o in range(len(w.org_names))]
    cand_rows = cand.tolist()
    for i in range(n):
        specs = list(dict.fromkeys(cand_rows[i]))[: wanted[i]]
        name = cat.SURNAMES[surname[i]] + cat.GIVEN[given[i, 0]] + (cat.GIVEN[given[i, 1]] if two[i] else "")
        e = int(employer[i])
        w.experts.append({
            "id": w.ex_ids[i], "name": name, "birth_date": births[i], "region": regs[region[i]].code,
            "lat": float(w.ex_lat[i]), "lon": float(w.ex_lon[i]), "employer": org_ids[e] if e >= 0 else None,
            "specialties": specs, "status": STATUSES[w.ex_status[i]], "leave": [],
        })
    w.ex_employer = employer
    rng = w.rng
    for i in rng.sample(range(n), round(0.03 * n)):  # leave long past
        start = w.day - dt.timedelta(days=rng.randint(30, 300))
        end = start + dt.timedelta(days=rng.randint(2, 20))
        w.experts[i]["leave"].append({"from": start.isoformat(), "to": end.isoformat()})
    for i in rng.sample(range(n), round(0.02 * n)):  # leave around the day, mostly covering it
        start = w.day + dt.timedelta(days=rng.randint(-8, 3))
        end = start + dt.timedelta(days=rng.randint(0, 12))
        w.experts[i]["leave"].append({"from": start.isoformat(), "to": end.isoformat()})
        if start <= w.day <= end:
            w.on_leave.add(i)


def build_relations(w: World) -> None:
    """Declared relations (E4) for ~5% of experts and penalties (E1) for ~0.5%."""
    rng, n, y = w.rng, len(w.experts), w.day.year
    by_pref: dict[str, list[int]] = {}
    for o, ri in enumerate(w.org_region):
        by_pref.setdefault(w.regions[ri].pref, []).append(o)
    for i in sorted(rng.sample(range(n), round(0.05 * n))):
        pool = by_pref[w.regions[int(w.ex_region[i])].pref]
        for org in rng.sample(pool, rng.choices((1, 2), weights=(75, 25))[0]):
            if org == w.ex_employer[i]:
                continue
            kind = rng.choices(RELATION_KINDS, weights=(35, 20, 12, 10, 12, 11))[0]
            recent = kind in ("legal_dispute", "avoid")
            first_year = rng.randint(y - (8 if recent else 25), y - 1)
            start: dt.date | None = dt.date(first_year, rng.randint(1, 12), 1)
            end: dt.date | None = None
            if kind == "former_employment":  # some ended long ago (no longer counts), some recently
                end = w.day - dt.timedelta(days=rng.randint(30, 12 * 365))
            elif kind in ("director", "shareholder", "legal_dispute") and rng.random() < 0.4:
                end = w.day - dt.timedelta(days=rng.randint(60, 8 * 365))
            elif kind == "relative":
                start = None
            if start is not None and end is not None and end < start:
                start = end - dt.timedelta(days=rng.randint(365, 8 * 365))
            w.relations.append({"expert": w.ex_id(i), "org": w.org_id(org), "kind": kind,
                                "from": start.isoformat() if start else None,
                                "to": end.isoformat() if end else None})
    for i in sorted(rng.sample(range(n), round(0.005 * n))):
        when = w.day - dt.timedelta(days=rng.randint(60, 6 * 365))
        w.penalties.append({"expert": w.ex_id(i), "date": when.isoformat(),
                            "reason": rng.choice(cat.PENALTY_REASONS)})
        w.penalised.add(i)
