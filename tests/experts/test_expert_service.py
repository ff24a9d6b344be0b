"""Expert-pool services on SQLite and PostgreSQL: CRUD, clean duplicate errors, history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from experts import service
from experts.exceptions import (
    DuplicateCodeError,
    DuplicateIdNumberError,
    InvalidExpertDataError,
    NotFoundError,
)
from experts.models import (
    BookingCreate,
    Expert,
    ExpertCreate,
    ExpertSpecialty,
    ExpertUpdate,
    Leave,
    OrganisationCreate,
    Penalty,
    Relation,
    RelationCreate,
)

CST = timezone(timedelta(hours=8))


def _expert(code: str, **kw: object) -> ExpertCreate:
    data: dict[str, object] = {"code": code, "name": "张三", "birth_date": date(1968, 4, 2), "region": "370114",
                               "lat": 36.71, "lon": 117.53, "specialties": ["A0801", "A0601"]}
    return ExpertCreate.model_validate({**data, **kw})


def _orgs(session: Session, *codes: str) -> None:
    for code in codes:
        service.create_org(session, data=OrganisationCreate(code=code, name=f"{code} 有限公司"))


def test_create_and_read_expert_with_employer_and_specialties(session: Session) -> None:
    _orgs(session, "ORG-0001")
    service.create_expert(session, data=_expert("E000002", employer_code="ORG-0001", id_number="37010219680402001X"))
    service.create_expert(session, data=_expert("E000001", specialties=["B0101", "A0801", "A0801"]))
    session.commit()

    e2 = service.get_expert_by_code(session, code="E000002")
    assert e2.employer_id == service.get_org_by_code(session, code="ORG-0001").id
    assert (e2.status, e2.birth_date, e2.id_number) == ("active", date(1968, 4, 2), "37010219680402001X")
    assert service.specialties_of(session, expert_code="E000002") == ["A0601", "A0801"]
    assert service.specialties_of(session, expert_code="E000001") == ["A0801", "B0101"]
    assert [e.code for e in service.list_experts(session)] == ["E000001", "E000002"]
    assert [e.code for e in service.list_experts(session, specialty_prefix="B01")] == ["E000001"]
    assert [e.code for e in service.list_experts(session, specialty_prefix="A08")] == ["E000001", "E000002"]

    service.add_specialty(session, expert_code="E000002", specialty="C0302")
    service.add_specialty(session, expert_code="E000002", specialty="C0302")  # idempotent
    assert service.specialties_of(session, expert_code="E000002") == ["A0601", "A0801", "C0302"]
    with pytest.raises(InvalidExpertDataError):
        service.add_specialty(session, expert_code="E000002", specialty="c3")

    service.update_expert(session, code="E000001", data=ExpertUpdate(name="李四", employer_code="ORG-0001"))
    session.commit()
    e1 = service.get_expert_by_code(session, code="E000001")
    assert (e1.name, e1.employer_id, e1.region) == ("李四", e2.employer_id, "370114")
    with pytest.raises(NotFoundError):
        service.get_expert_by_code(session, code="E404")
    with pytest.raises(NotFoundError, match="organisation"):
        service.create_expert(session, data=_expert("E000003", employer_code="ORG-404"))


def test_create_model_validation() -> None:
    with pytest.raises(ValidationError):
        _expert("E1", specialties=["a0801"])
    with pytest.raises(ValidationError):
        _expert("E1", region="37011")
    with pytest.raises(ValidationError):
        RelationCreate.model_validate({"org_code": "X", "kind": "friend"})


def test_duplicates_are_domain_errors(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    _orgs(session, "ORG-1")
    service.create_expert(session, data=_expert("E000001", id_number="ID-1"))
    session.commit()
    with pytest.raises(DuplicateCodeError) as info:
        service.create_expert(session, data=_expert("E000001"))
    assert (info.value.entity, info.value.code) == ("expert", "E000001")
    with pytest.raises(DuplicateIdNumberError) as id_info:
        service.create_expert(session, data=_expert("E000002", id_number="ID-1"))
    assert "ID-1" not in str(id_info.value)  # the number is personal data: never echoed
    with pytest.raises(DuplicateCodeError):
        _orgs(session, "ORG-1")
    # A concurrent insert the pre-check cannot see is caught by the unique index, still cleanly.
    monkeypatch.setattr(service, "code_taken", lambda *_args: False)
    with pytest.raises(DuplicateCodeError):
        service.create_expert(session, data=_expert("E000001"))
    assert session.exec(select(func.count()).select_from(Expert)).one() == 1


def test_status_relations_penalties_leave_bookings(engine: Engine) -> None:
    with Session(engine) as s:
        _orgs(s, "ORG-1", "ORG-2")
        service.create_expert(s, data=_expert("E1"))
        service.suspend(s, expert_code="E1")
        rel = RelationCreate(org_code="ORG-2", kind="former_employment", from_date=date(2015, 1, 1),
                             to_date=date(2024, 6, 30))
        service.add_relation(s, expert_code="E1", data=rel)
        service.add_relation(s, expert_code="E1", data=RelationCreate(org_code="ORG-1", kind="avoid"))
        service.add_penalty(s, expert_code="E1", on=date(2022, 3, 1), reason="串标")
        service.add_leave(s, expert_code="E1", from_date=date(2026, 11, 20), to_date=date(2026, 11, 24))
        start = datetime(2026, 11, 23, 8, 0, tzinfo=CST)
        service.add_booking(s, expert_code="E1", data=BookingCreate(start=start, end=start + timedelta(hours=3)))
        with pytest.raises(InvalidExpertDataError):
            service.add_leave(s, expert_code="E1", from_date=date(2026, 11, 24), to_date=date(2026, 11, 20))
        with pytest.raises(ValidationError):
            RelationCreate(org_code="ORG-1", kind="director", from_date=date(2020, 1, 2), to_date=date(2020, 1, 1))
        s.commit()
    with Session(engine) as s:
        e = service.get_expert_by_code(s, code="E1")
        assert e.status == "suspended"
        rels = s.exec(select(Relation).where(Relation.expert_id == e.id).order_by(col(Relation.kind))).all()
        assert [(r.kind, r.from_date, r.to_date) for r in rels] == [
            ("avoid", None, None), ("former_employment", date(2015, 1, 1), date(2024, 6, 30))]
        assert s.exec(select(Penalty.reason)).all() == ["串标"]
        leaves = s.exec(select(col(Leave.from_date), col(Leave.to_date))).all()
        assert leaves == [(date(2026, 11, 20), date(2026, 11, 24))]
        service.reinstate(s, expert_code="E1")
        s.commit()
        assert service.get_expert_by_code(s, code="E1").status == "active"
        assert [x.code for x in service.list_experts(s, status="suspended")] == []


def test_record_committee_and_history(engine: Engine) -> None:
    t0 = datetime(2026, 10, 10, 9, 0, tzinfo=CST)
    with Session(engine) as s:
        _orgs(s, "TEND")
        for code in ("E1", "E2", "E3"):
            service.create_expert(s, data=_expert(code))
        service.record_committee(s, code="P-1", start=t0, end=t0 + timedelta(hours=3), expert_codes=["E1", "E2"],
                                 tenderer_code="TEND")
        service.record_committee(s, code="P-2", start=t0 + timedelta(days=20), end=t0 + timedelta(days=20, hours=3),
                                 expert_codes=["E2", "E3"])
        with pytest.raises(DuplicateCodeError):
            service.record_committee(s, code="P-1", start=t0, end=t0 + timedelta(hours=1), expert_codes=[])
        with pytest.raises(InvalidExpertDataError):
            service.record_committee(s, code="P-9", start=t0, end=t0, expert_codes=[])
        s.commit()
    with Session(engine) as s:
        assert [c.code for c in service.committees_of(s, expert_code="E2")] == ["P-1", "P-2"]
        assert [c.code for c in service.committees_of(s, expert_code="E2", since=t0 + timedelta(days=1))] == ["P-2"]
        got = service.committees_of(s, expert_code="E1")[0]
        assert got.start == t0 and got.start.tzinfo is not None
        assert got.end.astimezone(UTC).hour == 4


def test_specialty_rows_are_unique_per_expert(session: Session) -> None:
    service.create_expert(session, data=_expert("E1", specialties=["A0801", "A0801"]))
    session.commit()
    assert session.exec(select(func.count()).select_from(ExpertSpecialty)).one() == 1
