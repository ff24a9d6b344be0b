"""HTTP route of long operations: `GET /api/operations/{id}` (the creator and admins only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from access.deps import CurrentPrincipal, IdPath, SessionDep, deny_out_of_scope
from operations import service
from operations.models import Operation, OperationPublic

router = APIRouter(prefix="/api/operations", tags=["operations"])


@router.get("/{operation_id}", response_model=OperationPublic)
def read_operation(operation_id: IdPath, request: Request, session: SessionDep, who: CurrentPrincipal) -> Operation:
    """An operation's status and progress (done of total) and, once finished, its report."""
    op = service.get(session, operation_id=operation_id)
    if op is not None and op.created_by != who.actor and who.role != "admin":
        deny_out_of_scope(session, request, who, f"operation:{operation_id}")
        session.commit()
        op = None
    if op is None:
        raise HTTPException(status_code=404, detail=[{"loc": ["operation_id"],
                                                      "msg": f"no operation {operation_id}"}])
    return op
