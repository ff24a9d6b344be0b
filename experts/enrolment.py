"""Face enrolment service: enrol, delete, status and 1:1 verification of an expert's face.

Several reference photos are reduced to their mean encoding: measured on the shared photos it is as
accurate as keeping each photo's encoding (benchmarks/bench_face.py) and stores less (PIPL minimal
storage). Photos are never stored; the encoding is sealed (AES-GCM) bound to the expert and the row.
Ledger entries and logs carry outcomes only, never encodings, distances or images.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
from sqlmodel import Session, select

import ledger
from config.clock import as_aware
from config.sealing import seal, unseal
from config.settings import get_settings
from experts import identity
from experts.face_exceptions import ConsentRequired, NoPhotos, NotEnrolled
from experts.face_models import FaceTemplate, FaceTemplatePublic
from experts.lookup import get_expert_by_code, row_id

logger = logging.getLogger(__name__)


def face_aad(expert_id: int, template_id: int) -> bytes:
    """AAD of a sealed face template: binds it to its expert and its row."""
    return f"face:{expert_id}:{template_id}".encode()


def _template(session: Session, expert_id: int) -> FaceTemplate | None:
    return session.exec(select(FaceTemplate).where(FaceTemplate.expert_id == expert_id)).first()


def enrol(session: Session, *, expert_code: str, images: list[bytes], consent: bool, actor: str,
          now: datetime) -> FaceTemplatePublic:
    """Enrol (or re-enrol) the expert's face from reference photos, each with exactly one face."""
    if not consent:
        raise ConsentRequired()
    if not images:
        raise NoPhotos()
    expert = get_expert_by_code(session, code=expert_code)
    expert_id = row_id(expert)
    settings = get_settings()
    # Every photo must be usable before anything is written: a bad one rejects the whole enrolment.
    encodings = []
    for n, data in enumerate(images, start=1):
        try:
            encodings.append(identity.encode_image(data, settings=settings))
        except identity.FaceError as exc:
            raise identity.FaceError(f"photo {n}: {exc}", code=exc.code) from None
    template_enc = np.mean(np.stack(encodings), axis=0)
    row = _template(session, expert_id)
    renewed = row is not None
    if row is None:
        row = FaceTemplate(expert_id=expert_id, sealed=b"", photos=len(images), consent_at=now, enrolled_at=now,
                           enrolled_by=actor)
        session.add(row)
        session.flush()  # the row id is part of the AAD
    row.photos, row.consent_at, row.enrolled_at, row.enrolled_by = len(images), now, now, actor
    row.sealed = seal(identity.to_bytes(template_enc), aad=face_aad(expert_id, row_id(row)))
    session.add(row)
    session.flush()
    ledger.append(session, kind="face.enrol", subject=f"expert:{expert_code}", actor=actor,
                  payload={"photos": len(images), "renewed": renewed, "consent": True})
    logger.info("face template %s for expert %s (%d photos)", "renewed" if renewed else "enrolled",
                expert_code, len(images))
    return status(session, expert_code=expert_code)


def delete(session: Session, *, expert_code: str, actor: str) -> bool:
    """Delete the expert's face template; False when there was none."""
    expert = get_expert_by_code(session, code=expert_code)
    row = _template(session, row_id(expert))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    ledger.append(session, kind="face.delete", subject=f"expert:{expert_code}", actor=actor, payload={})
    logger.info("face template deleted for expert %s", expert_code)
    return True


def status(session: Session, *, expert_code: str) -> FaceTemplatePublic:
    """Whether the expert is enrolled, from how many photos, when and by whom (no biometric data)."""
    expert = get_expert_by_code(session, code=expert_code)
    row = _template(session, row_id(expert))
    if row is None:
        return FaceTemplatePublic(expert_code=expert_code, enrolled=False)
    return FaceTemplatePublic(expert_code=expert_code, enrolled=True, photos=row.photos,
                              consent_at=as_aware(row.consent_at), enrolled_at=as_aware(row.enrolled_at),
                              enrolled_by=row.enrolled_by)


def verify(session: Session, *, expert_code: str, image: bytes, actor: str = "system") -> tuple[float, bool]:
    """Verify 1:1 that the single face of `image` is the expert's: (distance, match)."""
    expert = get_expert_by_code(session, code=expert_code)
    expert_id = row_id(expert)
    row = _template(session, expert_id)
    if row is None:
        raise NotEnrolled(expert_code)
    settings = get_settings()
    probe = identity.encode_image(image, settings=settings)
    reference = identity.from_bytes(unseal(bytes(row.sealed), aad=face_aad(expert_id, row_id(row))))
    result = identity.compare(reference, probe, tolerance=settings.face_tolerance)
    ledger.append(session, kind="face.verify", subject=f"expert:{expert_code}", actor=actor,
                  payload={"match": result.match})
    logger.info("face verification for expert %s: %s", expert_code, "match" if result.match else "no match")
    return result.distance, result.match


def reference(session: Session, *, expert_id: int) -> np.ndarray | None:
    """The expert's unsealed reference encoding for a server-side 1:1 match; None when not enrolled."""
    row = _template(session, expert_id)
    if row is None:
        return None
    return identity.from_bytes(unseal(bytes(row.sealed), aad=face_aad(expert_id, row_id(row))))
