"""A project drawn after another one of the same day sees that committee (E8, S4) — both databases."""

from __future__ import annotations

from sqlmodel import Session

from evaluation import service
from evaluation.commitments import draw_result
from evaluation.export import export_instance
from evaluation.importer import import_instance
from tests.checker import check
from tests.factories_instance import second_project, tiny_day


def test_separate_draws_do_not_share_experts_or_overfill_rooms(session: Session) -> None:
    inst, _ = tiny_day()
    second_project(inst)  # P2 overlaps P1 in time, at MAIN
    import_instance(session, inst)
    session.commit()
    first = service.draw(session, project_codes=["P1"], seed_hex="01")
    p1 = draw_result(first)["projects"][0]
    assert p1["status"] == "drawn"
    doc = export_instance(session, project_codes=["P2"], rules=service.deployment_rules().as_json(),
                          with_drawn=True)
    seen = {h["project"]: h for h in doc["history"]}
    assert set(seen["P1"]["experts"]) == {s["expert"] for s in p1["seats"]}
    used = sum(b["seats"] for b in doc["room_bookings"] if b["room"] == p1["representatives_room"])
    assert used >= 1  # the representatives' room holds P1's people while P2 is drawn
    # Without the flag the export stays as before (no sealed committee named).
    plain = export_instance(session, project_codes=["P2"], rules=service.deployment_rules().as_json())
    assert "P1" not in {h["project"] for h in plain["history"]}
    second = service.draw(session, project_codes=["P2"], seed_hex="02")
    p2 = draw_result(second)["projects"][0]
    assert not {s["expert"] for s in p1["seats"]} & {s["expert"] for s in p2["seats"]}
    # P2's committee is legal against an instance that holds P1's committee (E8 via history).
    assert check(doc, draw_result(second)) == []
