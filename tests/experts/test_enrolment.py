"""Face enrolment in the database and its routes: sealed templates, consent, verify, nothing biometric leaks."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import ledger
from config.sealing import SealError
from evaluation.importer import import_instance
from experts import enrolment
from experts.face_exceptions import ConsentRequired, NotEnrolled
from experts.face_models import FaceTemplate
from tests.api_support import app_client, bearer
from tests.experts.test_identity import FACES, PHOTOS
from tests.factories_instance import tiny_day

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.skipif(not any(p.name == "obama_3.jpg" for p in PHOTOS) or
                                not any(p.name == "biden_1.jpg" for p in PHOTOS),
                                reason=f"shared face photos absent from {FACES}")


def photo(name: str) -> bytes:
    return (FACES / name).read_bytes()


def test_enrol_verify_delete_with_nothing_biometric_outside_the_seal(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    import_instance(session, tiny_day()[0])
    session.commit()
    with pytest.raises(ConsentRequired):
        enrolment.enrol(session, expert_code="E01", images=[photo("obama_1.jpg")], consent=False, actor="t", now=NOW)
    with caplog.at_level(logging.DEBUG):
        st = enrolment.enrol(session, expert_code="E01", images=[photo("obama_1.jpg"), photo("obama_2.jpg")],
                             consent=True, actor="t", now=NOW)
        session.commit()
        assert st.photos == 2
        same = enrolment.verify(session, expert_code="E01", image=photo("obama_3.jpg"))
        other = enrolment.verify(session, expert_code="E01", image=photo("biden_1.jpg"))
        session.commit()
    assert same[1] is True and other[1] is False and same[0] < other[0]
    entries = ledger.entries(session, kind_prefix="face.")
    assert [e.kind for e in entries] == ["face.enrol", "face.verify", "face.verify"]
    text = " ".join(e.payload for e in entries) + caplog.text
    assert f"{same[0]:.3f}" not in text and f"{other[0]:.3f}" not in text and "encoding" not in text.lower()
    row = session.exec(select(FaceTemplate)).one()
    assert not hasattr(row, "photo") and len(row.sealed) > 0
    # The sealed template is bound to its expert and row: copied to another expert it does not open.
    enrolment.enrol(session, expert_code="E02", images=[photo("biden_1.jpg")], consent=True, actor="t", now=NOW)
    session.commit()
    rows = {r.expert_id: r for r in session.exec(select(FaceTemplate)).all()}
    first, second = sorted(rows)
    rows[second].sealed = rows[first].sealed
    session.add(rows[second])
    session.commit()
    with pytest.raises(SealError):
        enrolment.verify(session, expert_code="E02", image=photo("biden_2.jpg"))
    assert enrolment.delete(session, expert_code="E01", actor="t")
    session.commit()
    with pytest.raises(NotEnrolled):
        enrolment.verify(session, expert_code="E01", image=photo("obama_3.jpg"))


def test_face_routes(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        admin = bearer(c, "admin")
        files = [("files", ("a.jpg", photo("obama_1.jpg"), "image/jpeg"))]
        assert c.post("/api/experts/E01/face", files=files, data={"consent": "true"},
                      headers=bearer(c, "super")).status_code == 403
        assert c.post("/api/experts/E01/face", files=files, data={"consent": "true"},
                      headers=bearer(c, "coord_auxa")).status_code == 403
        refused = c.post("/api/experts/E01/face", files=files, headers=admin)
        assert refused.status_code == 422 and "consent" in refused.text
        a, b = Image.open(PHOTOS[0]).convert("RGB"), Image.open(PHOTOS[-1]).convert("RGB")
        a.thumbnail((600, 600))
        b.thumbnail((600, 600))
        two = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), "white")
        two.paste(a, (0, 0))
        two.paste(b, (a.width, 0))
        buf = io.BytesIO()
        two.save(buf, format="JPEG")
        many = c.post("/api/experts/E01/face", files=[("files", ("two.jpg", buf.getvalue(), "image/jpeg"))],
                      data={"consent": "true"}, headers=admin)
        assert many.status_code == 422 and "files" in many.text
        junk = c.post("/api/experts/E01/face", files=[("files", ("x.jpg", b"\x00junk" * 50, "image/jpeg"))],
                      data={"consent": "true"}, headers=admin)
        assert junk.status_code == 422 and "files" in junk.text
        ok = c.post("/api/experts/E01/face", files=files, data={"consent": "true"}, headers=admin)
        assert ok.status_code == 201 and ok.json()["photos"] == 1
        assert c.get("/api/experts/E01/face", headers=admin).status_code == 200
        assert c.delete("/api/experts/E01/face", headers=admin).status_code == 204
        assert c.delete("/api/experts/E01/face", headers=admin).status_code == 404
