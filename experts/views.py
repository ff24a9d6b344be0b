"""HTTP routes of the expert pool (/api/experts): list, read, create, update, status, leave, relations,
penalties, and the CSV/Excel import run as a long operation.

Admins and coordinators read; admins and centre-wide coordinators write. The id_number never
leaves the service. Changes are ledgered (`expert.*`) with public facts only.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from sqlmodel import Session

import ledger
from access.deps import Coordinator, SessionDep, deny_out_of_scope
from access.service import Principal
from config.settings import get_settings
from experts import importer, service
from experts.models import (
    Expert,
    ExpertCreate,
    ExpertDetail,
    ExpertPage,
    ExpertStatus,
    ExpertUpdate,
    LeaveCreate,
    LeavePublic,
    Organisation,
    PenaltyCreate,
    PenaltyPublic,
    RelationCreate,
    RelationPublic,
)
from operations.models import OperationPublic

router = APIRouter(prefix="/api/experts", tags=["experts"])


def pool_writer(request: Request, session: SessionDep, who: Coordinator) -> Principal:
    """Admins and centre-wide coordinators (403, ledgered, for a site-scoped coordinator)."""
    if not who.all_sites:
        deny_out_of_scope(session, request, who, "expert pool write")
        session.commit()
        raise HTTPException(status_code=403, detail=[{"loc": ["authorization"],
                                                      "msg": "only a centre-wide coordinator may change the pool"}])
    return who


Writer = Annotated[Principal, Depends(pool_writer)]


def _detail(session: Session, expert: Expert) -> ExpertDetail:
    employer = session.get(Organisation, expert.employer_id) if expert.employer_id else None
    return ExpertDetail.model_validate(
        expert.model_dump(exclude={"id_number"}),
        update={"employer_code": employer.code if employer else None,
                "specialties": service.specialties_of(session, expert_code=expert.code)},
    )


def _log(session: Session, who: Principal, kind: str, code: str, payload: dict[str, Any]) -> None:
    ledger.append(session, kind=f"expert.{kind}", subject=f"expert:{code}", actor=who.actor, payload=payload)


# Fields whose values are personal data: the ledger records that they changed, never the values.
PERSONAL = frozenset({"name", "birth_date", "lat", "lon", "email", "phone", "id_number"})


def _changed(data: dict[str, Any]) -> dict[str, Any]:
    return {"fields": sorted(data), **{k: v for k, v in data.items() if k not in PERSONAL}}


@router.get("", response_model=ExpertPage)
def list_experts(
    session: SessionDep, _: Coordinator,
    status: ExpertStatus | None = None,
    specialty: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Z](\d\d)*$")] = None,
    region: Annotated[str | None, Query(max_length=6, pattern=r"^\d{1,6}$")] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the code or name")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ExpertPage:
    """Experts by code, filtered by status, specialty prefix (C3), region prefix and text; paginated."""
    rows, total = service.search_experts(session, status=status, specialty_prefix=specialty, region_prefix=region,
                                         text=q, offset=offset, limit=limit)
    return ExpertPage(total=total, offset=offset, limit=limit, items=[_detail(session, e) for e in rows])


@router.post("", response_model=ExpertDetail, status_code=201)
def create_expert(body: ExpertCreate, session: SessionDep, who: Writer) -> ExpertDetail:
    """Add an expert to the pool."""
    expert = service.create_expert(session, data=body)
    _log(session, who, "create", expert.code, {"status": expert.status, "region": expert.region,
                                                "specialties": sorted(set(body.specialties))})
    session.commit()
    return _detail(session, expert)


@router.post("/import", response_model=OperationPublic, status_code=202)
def import_experts(session: SessionDep, who: Writer, file: Annotated[UploadFile, File()]) -> Any:
    """Start importing experts from a CSV or .xlsx file; poll GET /api/operations/{id} for progress and the report."""
    limit = get_settings().import_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=[{"loc": ["file"], "msg": f"the file exceeds {limit} bytes"}])
    try:
        rows = importer.read_file(data)
    except importer.ImportFileError as exc:
        raise HTTPException(status_code=422, detail=[{"loc": ["file"], "msg": str(exc)}]) from exc
    return importer.start_import(session, rows=rows, actor=who.actor)


def _expert(session: Session, code: str) -> Expert:
    return service.get_expert_by_code(session, code=code)


@router.get("/{code}", response_model=ExpertDetail)
def read_expert(code: str, session: SessionDep, _: Coordinator) -> ExpertDetail:
    """One expert (without the identity-document number)."""
    return _detail(session, _expert(session, code))


@router.patch("/{code}", response_model=ExpertDetail)
def update_expert(code: str, body: ExpertUpdate, session: SessionDep, who: Writer) -> ExpertDetail:
    """Change an expert's data."""
    expert = service.update_expert(session, code=code, data=body)
    _log(session, who, "update", code, _changed(body.model_dump(mode="json", exclude_unset=True)))
    session.commit()
    return _detail(session, expert)


def _set_status(session: Session, who: Principal, code: str, status: ExpertStatus, kind: str) -> ExpertDetail:
    before = _expert(session, code).status
    expert = service.set_status(session, expert_code=code, status=status)
    _log(session, who, kind, code, {"from": before, "to": status})
    session.commit()
    return _detail(session, expert)


@router.post("/{code}/suspend", response_model=ExpertDetail)
def suspend(code: str, session: SessionDep, who: Writer) -> ExpertDetail:
    """Suspend an expert (rule E1 then keeps them out of draws)."""
    return _set_status(session, who, code, "suspended", "suspend")


@router.post("/{code}/reinstate", response_model=ExpertDetail)
def reinstate(code: str, session: SessionDep, who: Writer) -> ExpertDetail:
    """Return an expert to the active pool."""
    return _set_status(session, who, code, "active", "reinstate")


@router.get("/{code}/leave", response_model=list[LeavePublic])
def list_leave(code: str, session: SessionDep, _: Coordinator) -> Any:
    """The expert's leave periods."""
    return service.leaves_of(session, expert_code=code)


@router.post("/{code}/leave", response_model=LeavePublic, status_code=201)
def add_leave(code: str, body: LeaveCreate, session: SessionDep, who: Writer) -> Any:
    """Record a leave period (both dates inclusive, rule E8)."""
    leave = service.add_leave(session, expert_code=code, from_date=body.from_date, to_date=body.to_date)
    _log(session, who, "leave", code, {"from": body.from_date.isoformat(), "to": body.to_date.isoformat()})
    session.commit()
    return leave


@router.get("/{code}/relations", response_model=list[RelationPublic])
def list_relations(code: str, session: SessionDep, _: Coordinator) -> list[RelationPublic]:
    """The expert's declared relations with organisations (rule E4)."""
    return [RelationPublic.model_validate(rel, update={"org_code": org})
            for rel, org in service.relations_of(session, expert_code=code)]


@router.post("/{code}/relations", response_model=RelationPublic, status_code=201)
def add_relation(code: str, body: RelationCreate, session: SessionDep, who: Writer) -> RelationPublic:
    """Declare a relation between the expert and an organisation."""
    rel = service.add_relation(session, expert_code=code, data=body)
    _log(session, who, "relation", code, {"org": body.org_code, "kind": body.kind})
    session.commit()
    return RelationPublic.model_validate(rel, update={"org_code": body.org_code})


@router.get("/{code}/penalties", response_model=list[PenaltyPublic])
def list_penalties(code: str, session: SessionDep, _: Coordinator) -> Any:
    """The expert's penalties."""
    return service.penalties_of(session, expert_code=code)


@router.post("/{code}/penalties", response_model=PenaltyPublic, status_code=201)
def add_penalty(code: str, body: PenaltyCreate, session: SessionDep, who: Writer) -> Any:
    """Record a penalty for tendering misconduct (rule E1)."""
    pen = service.add_penalty(session, expert_code=code, on=body.date, reason=body.reason)
    # The reason may name people: the ledger keeps only the date.
    _log(session, who, "penalty", code, {"date": body.date.isoformat()})
    session.commit()
    return pen

