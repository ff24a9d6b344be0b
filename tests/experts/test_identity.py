"""Face identity (pure): real shared photos, the astronaut, a composed two-face image, bad bytes."""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from experts import identity

FACES = Path(os.environ.get("YIDI_TEST_FACES", Path(__file__).resolve().parents[3] / "shared" / "data" / "faces"))
PHOTOS = sorted(p for p in FACES.glob("*_[0-9].jpg")) if FACES.is_dir() else []
needs_photos = pytest.mark.skipif(len(PHOTOS) < 4, reason=f"shared face photos absent from {FACES}")


def person(path: Path) -> str:
    return path.stem.rsplit("_", 1)[0]


def jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=92)
    return buf.getvalue()


@pytest.fixture(scope="module")
def encodings() -> dict[Path, np.ndarray]:
    return {p: identity.encode_image(p.read_bytes()) for p in PHOTOS}


@needs_photos
def test_same_person_accepted_other_people_rejected(encodings: dict[Path, np.ndarray]) -> None:
    pairs = list(itertools.combinations(encodings, 2))
    same = [(a, b) for a, b in pairs if person(a) == person(b)]
    diff = [(a, b) for a, b in pairs if person(a) != person(b)]
    assert same and diff
    for a, b in same:
        assert identity.compare(encodings[a], encodings[b]).match, (a.name, b.name)
    for a, b in diff:
        assert not identity.compare(encodings[a], encodings[b]).match, (a.name, b.name)


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_astronaut_has_one_face() -> None:
    from skimage import data

    enc = identity.encode_image(png(Image.fromarray(data.astronaut())))
    assert enc.shape == (128,)
    assert identity.compare(enc, enc).match


@needs_photos
def test_astronaut_is_not_anyone_else(encodings: dict[Path, np.ndarray]) -> None:
    from skimage import data

    astro = identity.encode_image(png(Image.fromarray(data.astronaut())))
    assert not any(identity.compare(e, astro).match for e in encodings.values())


@needs_photos
def test_two_faces_rejected_with_a_clear_message() -> None:
    a, b = Image.open(PHOTOS[0]).convert("RGB"), Image.open(PHOTOS[-1]).convert("RGB")
    a.thumbnail((600, 600))
    b.thumbnail((600, 600))
    canvas = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), "white")
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.width, 0))
    with pytest.raises(identity.FaceError, match="2 faces") as info:
        identity.encode_image(jpeg(canvas))
    assert info.value.code == "many_faces"


def test_no_face_rejected() -> None:
    blank = Image.new("RGB", (640, 480), (120, 160, 200))
    with pytest.raises(identity.FaceError, match="no face") as info:
        identity.encode_image(jpeg(blank))
    assert info.value.code == "no_face"


def test_truncated_jpeg_and_random_bytes_rejected_cleanly() -> None:
    from skimage import data

    whole = jpeg(Image.fromarray(data.astronaut()))
    with pytest.raises(identity.FaceError, match="truncated or corrupt"):
        identity.decode_image(whole[: len(whole) // 2])
    with pytest.raises(identity.FaceError, match="not a readable image"):
        identity.decode_image(np.random.default_rng(7).bytes(5000))
    with pytest.raises(identity.FaceError, match="empty"):
        identity.decode_image(b"")


def test_size_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import Settings

    img = jpeg(Image.new("RGB", (400, 300), "gray"))
    with pytest.raises(identity.FaceError, match="pixels"):
        identity.decode_image(img, settings=Settings(face_max_pixels=100_000))
    with pytest.raises(identity.FaceError, match="bytes"):
        identity.decode_image(img, settings=Settings(face_max_image_bytes=1024))
    assert identity.decode_image(img).shape == (300, 400, 3)


def test_exif_orientation_applied() -> None:
    img = Image.new("RGB", (40, 20), "gray")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: the displayed image is 20 wide, 40 high
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert identity.decode_image(buf.getvalue()).shape == (40, 20, 3)


def test_encoding_bytes_round_trip() -> None:
    enc = np.random.default_rng(1).normal(size=(2, 128))
    assert np.array_equal(identity.from_bytes(identity.to_bytes(enc)), enc)
    with pytest.raises(ValueError):
        identity.from_bytes(b"123")
