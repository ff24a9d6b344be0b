"""Statistics from live data, checked against figures computed by hand on a tiny day (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from access.service import Principal
from config.sealing import seal_text, seat_aad
from evaluation import service, statistics
from evaluation.importer import import_instance
from evaluation.models import Draw, DrawProject, Project, Seat
from tests.factories_instance import by_id, clone, second_project, tiny_day
from venues.models import Room, Site

CST = timezone(timedelta(hours=8))
WEEK_FROM = datetime(2026, 11, 23, tzinfo=CST)
WEEK_TO = datetime(2026, 12, 1, tzinfo=CST)
KINDS = {"MAIN": "main_centre", "AUXA": "sub_centre", "AUXB": "partner", "AUXC": "centre"}


def stats_instance() -> dict:
    """The tiny day plus P2 (same day, Beijing region 110101) and P3 (a week later)."""
    inst, _ = tiny_day()
    second_project(inst)
    p3 = clone(by_id(inst["projects"], "P2"))
    p3.update(id="P3", start="2026-11-30T10:00:00+08:00", end="2026-11-30T12:00:00+08:00")
    inst["projects"].append(p3)
    return inst


def _add_seat(session: Session, draw: Draw, project: Project, need: str, room_code: str, expert: str) -> None:
    room = session.exec(select(Room).where(Room.code == room_code)).one()
    assert draw.id is not None and project.id is not None and room.id is not None
    session.add(Seat(draw_id=draw.id, project_id=project.id, need=need, site_id=room.site_id, room_id=room.id,
                     expert_sealed=seal_text(expert, aad=seat_aad(draw.id, project.code, need, room_code))))


def _draw(session: Session, project: Project, status: str, seats: list[tuple[str, str, str]]) -> Draw:
    draw = Draw(seed_sha256="0" * 64, instance_sha256="0" * 64, software="test", status=status,
                project_codes=[project.code])
    session.add(draw)
    session.flush()
    assert draw.id is not None and project.id is not None
    session.add(DrawProject(draw_id=draw.id, project_id=project.id, status="drawn"))
    for need, room, expert in seats:
        _add_seat(session, draw, project, need, room, expert)
    project.status = "drawn"
    session.add(project)
    return draw


def stats_day(session: Session) -> None:
    """Load the hand-made day whose figures the tests below expect.

    P1 (region 370114, prefecture 3701), draw REVEALED: E01 (home 370102: same prefecture) and E02 at
    MAIN, E03 at AUXA, E08 at AUXB (homes 371302: other prefecture) -> 4 seats, 3 cross-region.
    P2 (region 110101), draw still sealed: E12, E13 at MAIN -> 2 seats, not unsealed.
    P3 a week later, infeasible. Kinds: MAIN main_centre, AUXA sub_centre, AUXB partner, AUXC centre.
    """
    import_instance(session, stats_instance())
    for site in session.exec(select(Site)).all():
        site.kind = KINDS.get(site.code, "centre")  # type: ignore[assignment]
        session.add(site)
    projects = {p.code: p for p in session.exec(select(Project)).all()}
    _draw(session, projects["P1"], "revealed", [("A08", "MAIN-R1", "E01"), ("A08", "MAIN-R1", "E02"),
                                                ("A08", "AUXA-R1", "E03"), ("A06", "AUXB-R1", "E08")])
    _draw(session, projects["P2"], "drawn", [("B01", "MAIN-R1", "E12"), ("B01", "MAIN-R1", "E13")])
    projects["P3"].status = "infeasible"
    session.add(projects["P3"])
    session.commit()


def _site_id(session: Session, code: str) -> int:
    site_id = session.exec(select(Site.id).where(Site.code == code)).one()
    assert site_id is not None
    return site_id


def test_figures_match_the_hand_computed_day(session: Session) -> None:
    stats_day(session)
    got = statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, group="day")
    days = {row["period"]: row for row in got["periods"]}
    assert list(days) == [f"2026-11-{d}" for d in range(23, 31)]
    assert days["2026-11-23"] == {"period": "2026-11-23", "projects": 2, "drawn": 2, "infeasible": 0}
    assert days["2026-11-30"] == {"period": "2026-11-30", "projects": 1, "drawn": 0, "infeasible": 1}
    assert all(days[f"2026-11-{d}"]["projects"] == 0 for d in range(24, 30))
    assert got["totals"] == {"projects": 3, "drawn": 2, "infeasible": 1}
    assert got["seats"]["total"] == 6
    assert [(s["site"], s["kind"], s["seats"]) for s in got["seats"]["per_site"]] == [
        ("AUXA", "sub_centre", 1), ("AUXB", "partner", 1), ("MAIN", "main_centre", 4)]
    assert got["seats"]["per_kind"] == {"main_centre": 4, "sub_centre": 1, "centre": 0, "partner": 1}
    # Only the revealed draw's 4 seats are unsealed: 3 of them live outside prefecture 3701.
    assert got["cross_region"] == {"region_known_seats": 4, "cross_region_seats": 3, "sealed_seats": 2,
                                   "share": 0.75}
    assert "E0" not in repr(got) and "E1" not in repr(got)  # counts only, never an expert


def test_weeks_and_months(session: Session) -> None:
    stats_day(session)
    weeks = statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, group="week")["periods"]
    assert [(w["period"], w["projects"], w["infeasible"]) for w in weeks] == [("2026-W48", 2, 0), ("2026-W49", 1, 1)]
    months = statistics.compute(session, start=datetime(2026, 10, 1, tzinfo=CST), end=WEEK_TO, group="month")
    assert [(m["period"], m["projects"]) for m in months["periods"]] == [("2026-10", 0), ("2026-11", 3)]


def test_period_is_half_open_and_local(session: Session) -> None:
    stats_day(session)
    # P1 starts 09:00 +08:00 = 01:00 UTC on the 23rd: a period ending exactly then leaves it out.
    end = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert statistics.compute(session, start=WEEK_FROM, end=end)["totals"]["projects"] == 0
    # [P1's start, P2's start): P1 in, P2 (10:00 +08:00) out.
    got = statistics.compute(session, start=end, end=end + timedelta(hours=1))
    assert got["totals"]["projects"] == 1 and [p["period"] for p in got["periods"]] == ["2026-11-23"]


def test_scope_keeps_the_callers_projects_and_sites(session: Session) -> None:
    stats_day(session)
    who = Principal(user_id=1, username="c", role="coordinator", all_sites=False,
                    site_ids=frozenset({_site_id(session, "AUXA")}))
    got = statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, who=who)
    # Only P1 involves AUXA; of its seats only the one at AUXA (E03, cross-region) is the caller's.
    assert got["totals"] == {"projects": 1, "drawn": 1, "infeasible": 0}
    assert [(s["site"], s["seats"]) for s in got["seats"]["per_site"]] == [("AUXA", 1)]
    assert got["cross_region"]["cross_region_seats"] == 1 and got["cross_region"]["share"] == 1.0
    nobody = Principal(user_id=2, username="o", role="supervisor", all_sites=False, site_ids=frozenset())
    empty = statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, who=nobody)
    assert empty["totals"]["projects"] == 0 and empty["cross_region"]["share"] is None


def test_scope_given_as_site_ids_is_the_principals_scope(session: Session) -> None:
    stats_day(session)
    auxa = frozenset({_site_id(session, "AUXA")})
    who = Principal(user_id=1, username="c", role="coordinator", all_sites=False, site_ids=auxa)
    by_sites = statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, site_ids=auxa)
    assert by_sites == statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, who=who)
    assert by_sites["totals"]["projects"] == 1
    everyone = Principal(user_id=2, username="a", role="admin", all_sites=True, site_ids=frozenset())
    assert (statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, who=everyone)
            == statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, site_ids=None))
    with pytest.raises(TypeError):
        statistics.compute(session, start=WEEK_FROM, end=WEEK_TO, site_ids=auxa, who=who)


@pytest.mark.parametrize("revealed", [False, True])
def test_a_real_draw_is_unsealed_for_statistics_only_once_revealed(session: Session, revealed: bool) -> None:
    inst = stats_instance()
    # E02 loses its A06 specialty: then the A06 seat always goes to a remote expert (E08-E11) and
    # the A08 seats to E01-E07; with E08-E11 local and E01-E07 not, the share is 3 of 4 whatever the seed.
    by_id(inst["experts"], "E02")["specialties"] = ["A0801"]
    for i in range(1, 12):
        by_id(inst["experts"], f"E{i:02d}")["region"] = "370102" if i >= 8 else "371302"
    import_instance(session, inst)
    session.commit()
    row = service.draw(session, project_codes=["P1"], seed_hex="5eed")
    assert row.id is not None
    if revealed:
        service.reveal(session, draw_id=row.id, now=datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    got = statistics.compute(session, start=WEEK_FROM, end=WEEK_TO)
    assert got["seats"]["total"] == 4
    expected = ({"region_known_seats": 4, "cross_region_seats": 3, "sealed_seats": 0, "share": 0.75} if revealed
                else {"region_known_seats": 0, "cross_region_seats": 0, "sealed_seats": 4, "share": None})
    assert got["cross_region"] == expected
