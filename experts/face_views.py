"""HTTP routes of face enrolment (/api/experts/{code}/face): enrol, delete, status.

Admins and centre-wide coordinators only (the same writers as the expert pool). Photos are read,
encoded and dropped; answers and the ledger carry no biometric data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile

from access.deps import SessionDep
from config import clock
from config.settings import get_settings
from experts import enrolment
from experts.face_models import FaceTemplatePublic
from experts.views import Writer

router = APIRouter(prefix="/api/experts", tags=["experts"])
MAX_PHOTOS = 10


def _read(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(status_code=413, detail=[{"loc": ["files"], "msg": f"a photo exceeds {limit} bytes"}])
    return data


@router.post("/{code}/face", response_model=FaceTemplatePublic, status_code=201)
def enrol_face(
    code: str, session: SessionDep, who: Writer,
    files: Annotated[list[UploadFile], File(description="reference photo(s), exactly one face each")],
    consent: Annotated[bool, Form(description="the expert consented to face enrolment")] = False,
) -> FaceTemplatePublic:
    """Enrol or re-enrol the expert's face (consent required); the photos are not kept."""
    if len(files) > MAX_PHOTOS:
        raise HTTPException(status_code=422, detail=[{"loc": ["files"], "msg": f"at most {MAX_PHOTOS} photos"}])
    limit = get_settings().face_max_image_bytes
    images = [_read(f, limit) for f in files]
    result = enrolment.enrol(session, expert_code=code, images=images, consent=consent, actor=who.actor,
                             now=clock.now())
    session.commit()
    return result


@router.delete("/{code}/face", status_code=204)
def delete_face(code: str, session: SessionDep, who: Writer) -> Response:
    """Delete the expert's face template."""
    if not enrolment.delete(session, expert_code=code, actor=who.actor):
        raise HTTPException(status_code=404, detail=[{"loc": ["code"], "msg": f"expert {code!r} has no enrolled face"}])
    session.commit()
    return Response(status_code=204)


@router.get("/{code}/face", response_model=FaceTemplatePublic)
def face_status(code: str, session: SessionDep, _: Writer) -> FaceTemplatePublic:
    """Whether the expert's face is enrolled (status only)."""
    return enrolment.status(session, expert_code=code)
