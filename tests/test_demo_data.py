"""The demo province generator: valid, deterministic, realistic in its distributions, and a feasible day."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from api import demo_catalog as cat
from api.demo_data import DAY, generate, main, small
from scheduler.instance import SPECIALTY_RE, canonical_bytes, parse_instance
from tests.demo_support import Doc


def test_full_province_parses_with_the_requested_counts(province: Doc) -> None:
    inst = parse_instance(province)
    assert len(inst.experts) == 20_000 and len(inst.projects) == 150
    assert 35 <= len(inst.sites) <= 42
    assert 2_000 <= len(inst.orgs) <= 3_000
    ids = {s.id for s in inst.sites}
    assert {"JN", "ZQ", "QD", "LZ"} <= ids
    jn = next(s for s in inst.sites if s.id == "JN")
    assert jn.name == "济南市公共资源交易中心" and jn.region == "370100"
    assert next(s for s in inst.sites if s.id == "ZQ").name == "章丘区公共资源交易分中心"
    assert next(s for s in inst.sites if s.id == "LZ").name == "兰州市公共资源交易中心"
    for s in inst.sites:
        assert 1 <= len(s.rooms) <= 4 and all(5 <= r.seats <= 15 for r in s.rooms)
        assert [r.id for r in s.rooms] == [f"{s.id}-R{k + 1}" for k in range(len(s.rooms))]
    assert sum(r.seats for r in jn.rooms) == max(sum(r.seats for r in s.rooms) for s in inst.sites)
    assert sum(not s.active for s in inst.sites) <= 1
    names = [o.name for o in inst.orgs]
    assert len(set(names)) == len(names) and any(n.endswith("招标代理有限公司") for n in names)
    assert all(2 <= len(e.name) <= 3 for e in inst.experts)


def test_specialty_catalogue_follows_the_2018_standard() -> None:
    codes = list(cat.SPECIALTIES)
    assert 40 <= len(codes) <= 60 and {c[0] for c in codes} == {"A", "B", "C"}
    assert all(SPECIALTY_RE.match(c) for c in codes) and {len(c) for c in codes} == {5, 7}  # 2 or 3 levels
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)  # leaves only


def test_same_seed_same_document_and_other_seed_another() -> None:
    a, b, c = small(seed=11), small(seed=11), small(seed=12)
    assert canonical_bytes(a) == canonical_bytes(b)
    assert canonical_bytes(a) != canonical_bytes(c)
    assert [e["name"] for e in a["experts"][:50]] != [e["name"] for e in c["experts"][:50]]


def test_small_variant_for_the_demo_service(little: Doc) -> None:
    inst = parse_instance(little)
    assert len(inst.experts) == 1_500 and len(inst.projects) == 12
    assert len(inst.sites) == len(generate(experts=100, projects=1)["sites"])


def test_experts_live_where_the_province_does(province: Doc) -> None:
    ex = province["experts"]
    pref = Counter(e["region"][:4] for e in ex)
    shandong = sum(v for k, v in pref.items() if k.startswith("37"))
    assert 0.22 <= pref["3701"] / len(ex) <= 0.28
    assert 0.46 <= (shandong - pref["3701"]) / len(ex) <= 0.54
    assert 0.22 <= (len(ex) - shandong) / len(ex) <= 0.28
    assert pref["3702"] > pref["3705"] and pref["3713"] > pref["3711"]  # Qingdao, Linyi are big
    assert {e["region"] for e in ex if e["region"].startswith("3701")} >= {"370100", "370114", "370116"}
    centre = {r.code: r for r in cat.load_regions(None)}
    km = [111.2 * math.hypot(e["lat"] - centre[e["region"]].lat,
                             (e["lon"] - centre[e["region"]].lon) * math.cos(math.radians(e["lat"])))
          for e in ex]
    assert max(km) < 60 and 8 < float(np.median(km)) < 25  # scattered around their city, not beyond


def test_expert_attributes_are_plausible(province: Doc) -> None:
    ex = province["experts"]
    ages = [(DAY - date.fromisoformat(e["birth_date"])).days / 365.25 for e in ex]
    assert min(ages) >= 31.5 and max(ages) < 71.5
    assert 0.01 < sum(a > 66 for a in ages) / len(ex) < 0.08  # some are too old for E2
    status = Counter(e["status"] for e in ex)
    assert 0.97 < status["active"] / len(ex) < 0.995 and 0.005 < status["suspended"] / len(ex) < 0.02
    assert status["removed"] and status["blacklisted"]
    assert 0.03 < sum(e["employer"] is None for e in ex) / len(ex) < 0.07
    assert all(1 <= len(e["specialties"]) <= 3 and len(set(e["specialties"])) == len(e["specialties"])
               and set(e["specialties"]) <= set(cat.SPECIALTIES) for e in ex)
    popular = Counter(c for e in ex for c in e["specialties"]).most_common()
    assert 40 <= len(popular) <= 60 and popular[0][1] > 5 * popular[-1][1]  # skewed popularity
    on_leave = sum(any(lv["from"] <= DAY.isoformat() <= lv["to"] for lv in e["leave"]) for e in ex)
    assert 0.01 < on_leave / len(ex) < 0.03


def test_employers_are_mostly_local(province: Doc) -> None:
    names = {o["id"]: o["name"] for o in province["orgs"]}
    ex = [e for e in province["experts"] if e["region"] in ("370200", "620100") and e["employer"]]
    city = {"370200": "青岛", "620100": "兰州"}
    assert sum(city[e["region"]] in names[e["employer"]] for e in ex) / len(ex) > 0.8


def test_relations_penalties_bookings(province: Doc) -> None:
    n = len(province["experts"])
    rel = province["relations"]
    assert 0.04 < len({r["expert"] for r in rel}) / n < 0.06
    kinds = {"former_employment", "director", "shareholder", "relative", "legal_dispute", "avoid"}
    assert {r["kind"] for r in rel} == kinds
    ended = [r for r in rel if r["to"]]
    assert any(r["to"] < "2023" for r in ended) and any(r["to"] > "2024" for r in ended)
    assert any(r["to"] is None for r in rel)
    assert all(r["from"] is None or r["to"] is None or r["from"] <= r["to"] for r in rel)
    assert 0.003 < len(province["penalties"]) / n < 0.008
    assert 0.005 < len({b["expert"] for b in province["bookings"]}) / n < 0.015
    assert all(b["start"][:10] == DAY.isoformat() for b in province["bookings"])
    assert 1 <= len(province["room_bookings"]) <= 10


def test_cli_writes_a_valid_instance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.json"
    assert main(["--out", str(out), "--experts", "900", "--projects", "7", "--seed", "3"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(parse_instance(doc).experts) == 900 and len(doc["projects"]) == 7
    assert "900 experts" in capsys.readouterr().out


def test_module_entry_point_is_deterministic_across_processes(tmp_path: Path) -> None:
    # Another interpreter with another string-hash seed must write the very same province.
    out = tmp_path / "demo.json"
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    args = ["--out", str(out), "--experts", "700", "--projects", "5", "--seed", "8"]
    subprocess.run([sys.executable, "-m", "api.demo_data", *args], check=True, env=env,
                   cwd=Path(__file__).resolve().parents[1], capture_output=True)
    here = generate(seed=8, experts=700, projects=5)
    assert canonical_bytes(json.loads(out.read_text(encoding="utf-8"))) == canonical_bytes(here)


def test_custom_sites_csv(tmp_path: Path) -> None:
    packaged = Path(__file__).resolve().parents[1] / "venues" / "data" / "regions.csv"
    rows = packaged.read_text("utf-8").splitlines()
    keep = [r for r in rows if not r.startswith(("62", "61", "52", "51", "63", "50", "43", "44"))]
    path = tmp_path / "regions.csv"
    path.write_text("\n".join(keep) + "\n", encoding="utf-8")
    doc = generate(experts=2_000, projects=10, sites_csv=path)
    parse_instance(doc)
    assert "LZ" not in {s["id"] for s in doc["sites"]} and len(doc["sites"]) == len(keep) - 3
