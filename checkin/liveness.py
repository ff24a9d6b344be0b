"""Liveness by a random head-turn challenge, judged from 5-point face landmarks across a short frame sequence.

Pure: no database, no clock, no I/O. The terminal shows the expert the challenge from
`choose_direction()`, captures 6-16 frames about 200 ms apart (first looking straight at the camera,
then turning the head) and the service passes the decoded frames to `judge()`.

This deters casual presentation attacks (a photo held up to the camera, a replayed frame); it is
not certified presentation-attack detection (ISO/IEC 30107-3). A replayed or synthesised video that
turns the head the right way passes it.

Yaw index: in each frame, with L and R the centres of the eyes face_recognition names "left_eye"
and "right_eye" (for an upright face, the eyes on the image's left and right) and N the nose tip,
e = R - L and u = ((N - (L + R) / 2) . e) / |e|^2. Measuring along the eye axis cancels head roll,
and a flat photo turned about a vertical axis barely changes u (foreshortening along the eye axis
keeps the ratio), while a real head turn moves the protruding nose relative to the eyes.

The sequence passes when some frame is frontal (|u| at most liveness_frontal_max_yaw), some frame
has turned from the most frontal one by at least liveness_turn_min_yaw in the asked direction and
none that far the other way; every frame holds at most one face, few hold none, the face box moves
smoothly, and the first, frontal, most-turned and last faces share one identity.

Sign convention, frames as captured (NOT mirrored; a page may mirror only its preview): the camera
faces the expert, so the expert's own left is the image's right. Turning the head to one's own
left moves the nose toward the image's right: u > 0 is a turn to the expert's left, u < 0 to the
expert's right.

The 1:1 match: a passing result carries `frontal_index`, `frontal_box` (top, right, bottom, left in
that frame's own pixels) and `frontal_encoding` (the 128-d encoding of that face, already computed
here), so the service compares `frontal_encoding` with the enrolled template and need not detect or
encode again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image

from config.settings import Settings, get_settings
from experts import identity

logger = logging.getLogger(__name__)

Direction = Literal["left", "right"]
DIRECTIONS: tuple[Direction, ...] = ("left", "right")
Box = tuple[int, int, int, int]

# Repeats are found on grey thumbnails of one fixed size (whatever the frame size). Measured in
# bench_liveness: a frame sent twice, or re-encoded at the same JPEG quality, differs by at most
# ~0.01 grey levels; live-like frames (sensor noise alone, no motion) by 0.05 or more. Re-encoding
# at another quality differs as much as live frames do, so a still photo is refused by the turn
# check, not this one.
THUMB_SIZE = (64, 48)

MESSAGES: dict[str, str] = {
    "ok": "The liveness check passed.",
    "too_few_frames": "Too few frames were captured; please stay in front of the camera until the capture ends.",
    "too_many_frames": "Too many frames were sent; please try again.",
    "no_face": "Your face was not found in enough frames; face the camera in good light and try again.",
    "many_faces": "More than one face is in view; make sure only you are in front of the camera and try again.",
    "repeated_frames": "Identical frames were received; please look at the live camera and try again.",
    "not_frontal": "Please first look straight at the camera, then turn your head as asked.",
    "no_turn": "No clear head turn was seen; please turn your head further to your {direction}.",
    "wrong_direction": "Your head turned the wrong way; please turn it only to your {direction}.",
    "face_changed": "The face changed during the capture; only the person checking in may face the camera.",
}


@dataclass(frozen=True)
class LivenessResult:
    """The verdict on one frame sequence; `message` tells the expert what to do (English)."""

    passed: bool
    code: str
    message: str
    frontal_index: int | None = None
    frontal_box: Box | None = None
    # Biometric data: kept out of repr so that logging a result never logs it.
    frontal_encoding: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class FaceObservation:
    """One face found in one frame: its box (frame pixels) and its yaw index."""

    box: Box
    yaw: float

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return float(self.box[1] - self.box[3])

    @property
    def centre(self) -> np.ndarray:
        """Box centre (x, y)."""
        top, right, bottom, left = self.box
        return np.array([(left + right) / 2, (top + bottom) / 2])


def choose_direction() -> Direction:
    """A challenge direction, uniformly at random from a cryptographic source."""
    return secrets.choice(DIRECTIONS)


def _fail(code: str, direction: Direction, frontal_index: int | None = None) -> LivenessResult:
    return LivenessResult(False, code, MESSAGES[code].format(direction=direction), frontal_index)


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """A THUMB_SIZE grey float32 thumbnail of the frame (box-filtered)."""
    grey = Image.fromarray(rgb).convert("L").resize(THUMB_SIZE, Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32)


def smallest_difference(frames: Sequence[np.ndarray]) -> float:
    """The smallest mean absolute grey-level difference between the thumbnails of any two frames."""
    thumbs = np.stack([thumbnail(f) for f in frames])
    n = len(thumbs)
    best = float("inf")
    for i in range(n - 1):
        diffs = np.abs(thumbs[i + 1 :] - thumbs[i]).mean(axis=(1, 2))
        best = min(best, float(diffs.min()))
    return best


def yaw_index(landmarks: dict[str, list[tuple[int, int]]]) -> float:
    """The yaw index u of one face's 5-point landmarks (positive: the person's own left; see the module)."""
    left = np.mean(np.asarray(landmarks["left_eye"], dtype=float), axis=0)
    right = np.mean(np.asarray(landmarks["right_eye"], dtype=float), axis=0)
    nose = np.asarray(landmarks["nose_tip"][0], dtype=float)
    axis = right - left
    norm2 = float(axis @ axis)
    if norm2 == 0:
        return 0.0
    return float((nose - (left + right) / 2) @ axis / norm2)


def observe(rgb: np.ndarray, *, settings: Settings | None = None) -> list[FaceObservation]:
    """Every face of one frame with its yaw index; detection runs on a copy at most the setting's width."""
    import face_recognition

    s = settings or get_settings()
    h, w = rgb.shape[:2]
    scale = 1.0
    small = rgb
    if w > s.liveness_detect_max_width:
        scale = w / s.liveness_detect_max_width
        size = (s.liveness_detect_max_width, max(1, round(h / scale)))
        small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
    boxes: list[Box] = []
    for top, right, bottom, left in identity.face_boxes(small, settings=s):
        boxes.append((max(0, round(top * scale)), min(w, round(right * scale)),
                      min(h, round(bottom * scale)), max(0, round(left * scale))))
    if not boxes:
        return []
    # Landmarks on the full frame: the 5-point model is cheap and more precise there.
    marks = face_recognition.face_landmarks(rgb, face_locations=boxes, model="small")
    return [FaceObservation(box, yaw_index(m)) for box, m in zip(boxes, marks, strict=True)]


def _continuous(faces: list[tuple[int, FaceObservation]], s: Settings) -> bool:
    """Whether the face box never jumps or changes size abruptly between frames where a face was found."""
    for (i, a), (j, b) in zip(faces, faces[1:], strict=False):
        width = max(a.width, b.width, 1.0)
        if float(np.linalg.norm(a.centre - b.centre)) / width > s.liveness_max_jump * (j - i):
            return False
        if width / max(min(a.width, b.width), 1.0) > s.liveness_max_size_ratio:
            return False
    return True


def _check_frames(frames: Sequence[np.ndarray]) -> None:
    for frame in frames:
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise TypeError("frames must be RGB uint8 arrays (identity.decode_image output)")


def judge(frames: Sequence[np.ndarray], *, direction: Direction, settings: Settings | None = None) -> LivenessResult:
    """Judge a head-turn sequence: frontal first, then turned to the expert's own `direction`."""
    import face_recognition

    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}")
    _check_frames(frames)
    s = settings or get_settings()
    n = len(frames)
    if n < s.liveness_min_frames:
        return _fail("too_few_frames", direction)
    if n > s.liveness_max_frames:
        return _fail("too_many_frames", direction)
    # Cheap first: a still image or a replayed frame is refused before any detection.
    if smallest_difference(frames) < s.liveness_repeat_max_difference:
        return _fail("repeated_frames", direction)

    found: list[tuple[int, FaceObservation]] = []
    for index, frame in enumerate(frames):
        faces = observe(frame, settings=s)
        if len(faces) > 1:
            return _fail("many_faces", direction)
        if faces:
            found.append((index, faces[0]))
    if n - len(found) > s.liveness_max_missing_share * n or len(found) < 2:
        return _fail("no_face", direction)
    if not _continuous(found, s):
        return _fail("face_changed", direction)

    frontal_index, frontal = min(found, key=lambda item: abs(item[1].yaw))
    if abs(frontal.yaw) > s.liveness_frontal_max_yaw:
        return _fail("not_frontal", direction)
    # Turns are measured from the expert's own straight-ahead frame: a flat photo tilted or held in
    # strong perspective moved u by at most 0.16 in bench_liveness; a nose ~0.45 eye distances in
    # front of the eyes moves u by ~0.45 tan(yaw), i.e. 0.2 at ~25 degrees.
    sign = 1.0 if direction == "left" else -1.0
    turns = [(index, sign * (face.yaw - frontal.yaw)) for index, face in found]
    if any(t <= -s.liveness_turn_min_yaw for _, t in turns):
        return _fail("wrong_direction", direction, frontal_index)
    turned_index, turned = max(turns, key=lambda item: item[1])
    if turned < s.liveness_turn_min_yaw:
        return _fail("no_turn", direction, frontal_index)

    # One person throughout: the first, frontal, most-turned and last faces share one identity.
    checked = sorted({found[0][0], frontal_index, turned_index, found[-1][0]})
    boxes = dict(found)
    encodings = {
        i: np.asarray(face_recognition.face_encodings(frames[i], known_face_locations=[boxes[i].box])[0])
        for i in checked
    }
    reference = encodings[frontal_index]
    if any(identity.distance(reference, enc) > s.liveness_same_face_tolerance for enc in encodings.values()):
        return _fail("face_changed", direction, frontal_index)
    logger.debug("liveness passed on %d frames (%d with a face)", n, len(found))
    return LivenessResult(True, "ok", MESSAGES["ok"], frontal_index, frontal.box, reference)


def judge_images(images: Sequence[bytes], *, direction: Direction, settings: Settings | None = None) -> LivenessResult:
    """Decode JPEG/PNG frames with `identity.decode_image` and judge them; FaceError on an unreadable frame."""
    s = settings or get_settings()
    if len(images) > s.liveness_max_frames:
        # Refused before decoding: an oversized upload costs nothing.
        return _fail("too_many_frames", direction)
    return judge([identity.decode_image(data, settings=s) for data in images], direction=direction, settings=s)
