"""Face identity, pure functions: safe image decoding, HOG face detection, 128-d encodings, 1:1 match.

No database and no I/O beyond the bytes given. Nothing here logs an image, an encoding or a
distance (biometric data, PIPL): callers only log the outcome.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)

ENCODING_SIZE = 128


class FaceError(ValueError):
    """An image cannot be used for a face: unreadable, too large, no face or more than one face."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Comparison:
    """The outcome of a 1:1 comparison."""

    distance: float
    match: bool


def decode_image(data: bytes, *, settings: Settings | None = None) -> np.ndarray:
    """Decode image bytes into an RGB uint8 array (EXIF orientation applied), within the size limits."""
    import face_recognition  # noqa: F401

    # face_recognition sets Pillow's LOAD_TRUNCATED_IMAGES on import; a truncated upload must be refused.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    s = settings or get_settings()
    if not data:
        raise FaceError("the image is empty", code="empty")
    if len(data) > s.face_max_image_bytes:
        raise FaceError(f"the image exceeds {s.face_max_image_bytes} bytes", code="too_large")
    try:
        # Pillow's own bomb guard warns (or raises at 2x); ours is the setting, checked before decoding pixels.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > s.face_max_pixels:
                raise FaceError(f"the image has more than {s.face_max_pixels} pixels", code="too_large")
            image.load()
            image = ImageOps.exif_transpose(image) or image
            rgb = image.convert("RGB")
    except FaceError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise FaceError("the file is not a readable image (JPEG, PNG, …)", code="unreadable") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        # Truncated or corrupt data surfaces as one of these from the decoders.
        raise FaceError("the image is truncated or corrupt", code="unreadable") from None
    return np.asarray(rgb, dtype=np.uint8)


def face_boxes(rgb: np.ndarray, *, settings: Settings | None = None) -> list[tuple[int, int, int, int]]:
    """Face boxes (top, right, bottom, left) found by the HOG detector."""
    import face_recognition

    s = settings or get_settings()
    return list(face_recognition.face_locations(rgb, number_of_times_to_upsample=s.face_upsample, model="hog"))


def encode_single_face(rgb: np.ndarray, *, settings: Settings | None = None) -> np.ndarray:
    """The 128-d float64 encoding of the one face in `rgb`; FaceError when there is none or several."""
    import face_recognition

    boxes = face_boxes(rgb, settings=settings)
    if not boxes:
        raise FaceError("no face was found in the image", code="no_face")
    if len(boxes) > 1:
        raise FaceError(f"{len(boxes)} faces were found in the image; exactly one is required", code="many_faces")
    encodings = face_recognition.face_encodings(rgb, known_face_locations=boxes)
    return np.asarray(encodings[0], dtype=np.float64)


def encode_image(data: bytes, *, settings: Settings | None = None) -> np.ndarray:
    """Decode image bytes and return the encoding of its single face."""
    return encode_single_face(decode_image(data, settings=settings), settings=settings)


def distance(reference: np.ndarray, probe: np.ndarray) -> float:
    """Euclidean distance between two encodings, or the smallest one if `reference` holds several rows."""
    refs = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    return float(np.min(np.linalg.norm(refs - np.asarray(probe, dtype=np.float64), axis=1)))


def compare(reference: np.ndarray, probe: np.ndarray, *, tolerance: float | None = None) -> Comparison:
    """Compare encodings; a match when the distance is at most the tolerance (the setting by default)."""
    tol = get_settings().face_tolerance if tolerance is None else tolerance
    d = distance(reference, probe)
    return Comparison(distance=d, match=d <= tol)


def compare_images(a: bytes, b: bytes, *, settings: Settings | None = None) -> Comparison:
    """Compare the single faces of two images with the configured tolerance."""
    s = settings or get_settings()
    return compare(encode_image(a, settings=s), encode_image(b, settings=s), tolerance=s.face_tolerance)


def to_bytes(encodings: np.ndarray) -> bytes:
    """Raw little-endian float64 bytes of one or more encodings (for sealing)."""
    return np.atleast_2d(np.asarray(encodings, dtype="<f8")).tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    """Encodings (rows of 128 float64) from `to_bytes` output."""
    if not raw or len(raw) % (ENCODING_SIZE * 8):
        raise ValueError("not a whole number of face encodings")
    return np.frombuffer(raw, dtype="<f8").reshape(-1, ENCODING_SIZE).copy()
