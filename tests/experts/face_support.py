"""Face test helpers: the shared photos, camera-like frames, synthetic head turns, JPEG and Y4M output.

Shared by the liveness tests and the check-in terminal's browser test (Chromium's fake camera reads
a `.y4m` file). The synthetic head turn mimics what the 5-point landmarks (eye corners and nose
tip) see in a real turn; a determined attacker could do the same with a replayed or synthesised
video, which is why the liveness check deters and is not presentation-attack detection (PAD,
ISO/IEC 30107-3).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from PIL import Image

from experts import identity

FACES = Path(os.environ.get("YIDI_TEST_FACES", Path(__file__).resolve().parents[3] / "shared" / "data" / "faces"))


def faces_dir() -> Path | None:
    """The shared faces directory, or None when it is absent (or empty)."""
    return FACES if FACES.is_dir() and any(FACES.glob("*.jpg")) else None


def skip_without_faces() -> Path:
    """The shared faces directory; skips the calling test with a clear reason when it is absent."""
    folder = faces_dir()
    if folder is None:
        pytest.skip(f"shared face photos absent from {FACES} (set YIDI_TEST_FACES to their folder)")
    return folder


def load_rgb(path: Path | str) -> np.ndarray:
    """An image file as an RGB uint8 array, decoded the way the service decodes uploads."""
    return identity.decode_image(Path(path).read_bytes())


def camera_frame(rgb: np.ndarray, *, width: int = 640, height: int = 480) -> np.ndarray:
    """The image fitted (aspect kept) into a grey width x height canvas, as a terminal camera frame."""
    img = Image.fromarray(rgb)
    img.thumbnail((width, height))
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    canvas.paste(img, ((width - img.width) // 2, (height - img.height) // 2))
    return np.asarray(canvas)


def astronaut_frame() -> np.ndarray:
    """skimage's astronaut as a 640x480 kiosk frame: head and shoulders, the face about 120 px wide.

    At its native 512x512 the face is near the HOG detector's smallest size and, with camera noise,
    a second spurious box sometimes appears on the suit; a kiosk camera sits closer.
    """
    from skimage import data

    crop = Image.fromarray(data.astronaut()[0:360, 40:520])
    return np.asarray(crop.resize((640, 480), Image.Resampling.LANCZOS))


def jpeg_bytes(rgb: np.ndarray, quality: int = 85) -> bytes:
    """The image encoded as JPEG."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg_bytes(rgb, quality))).convert("RGB"))


def _landmarks(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Eye centres and nose tip of the single face (5-point model), as float (x, y) arrays."""
    import face_recognition

    boxes = identity.face_boxes(rgb)
    if len(boxes) != 1:
        raise ValueError(f"the image must hold exactly one face, found {len(boxes)}")
    marks = face_recognition.face_landmarks(rgb, face_locations=boxes, model="small")[0]
    return {
        "left_eye": np.asarray(marks["left_eye"], dtype=float),
        "right_eye": np.asarray(marks["right_eye"], dtype=float),
        "nose": np.asarray(marks["nose_tip"][0], dtype=float),
        "box": np.asarray(boxes[0], dtype=float),
    }


def _ring(centre: np.ndarray, radius: float, count: int) -> np.ndarray:
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return centre + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def shift_nose(rgb: np.ndarray, turn: float, *, marks: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The image with the nose region moved along the eye axis by `turn` eye distances (piecewise-affine warp).

    A positive `turn` moves the nose toward the image-right eye (the person's own left as the camera
    sees it). Eye corners, the face outline and everything outside the face stay put, so the 5-point
    landmarks see what a real head turn shows them: the protruding nose moving relative to the eyes.
    """
    from skimage.transform import PiecewiseAffineTransform, warp

    m = marks or _landmarks(rgb)
    if turn == 0:
        return rgb.copy()
    left, right = m["left_eye"].mean(axis=0), m["right_eye"].mean(axis=0)
    axis = right - left
    eye_dist = float(np.linalg.norm(axis))
    unit = axis / eye_dist
    nose = m["nose"]
    top, rgt, bottom, lft = m["box"]
    h, w = rgb.shape[:2]
    # Warp only a crop around the face (a whole-frame triangulation is needlessly slow).
    pad = 0.6 * max(rgt - lft, bottom - top)
    x0, y0 = int(max(0, lft - pad)), int(max(0, top - pad))
    x1, y1 = int(min(w, rgt + pad)), int(min(h, bottom + pad))
    origin = np.array([x0, y0], dtype=float)
    cw, ch = x1 - x0, y1 - y0
    border = np.array([[x, y] for x in np.linspace(0, cw - 1, 5) for y in np.linspace(0, ch - 1, 5)
                       if x in (0, cw - 1) or y in (0, ch - 1)])
    fixed = np.vstack([
        border,
        _ring(nose - origin, 1.1 * eye_dist, 16),  # the face outline, roughly
        m["left_eye"] - origin,
        m["right_eye"] - origin,
    ])
    inner = np.vstack([nose[None, :], _ring(nose, 0.35 * eye_dist, 8)]) - origin
    middle = _ring(nose, 0.7 * eye_dist, 12) - origin
    shift = turn * eye_dist * unit
    src = np.vstack([fixed, inner, middle])
    dst = np.vstack([fixed, inner + shift, middle + 0.6 * shift])
    # warp() wants the map from output to input coordinates.
    tform = PiecewiseAffineTransform.from_estimate(dst, src)
    if not tform:
        raise ValueError(f"the warp could not be estimated: {tform}")
    crop = rgb[y0:y1, x0:x1]
    warped = warp(crop, tform, mode="edge", preserve_range=True)
    out = rgb.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(warped), 0, 255).astype(np.uint8)
    return out


def head_turn_frames(
    rgb: np.ndarray,
    *,
    direction: Literal["left", "right"],
    n: int = 10,
    max_turn: float = 0.45,
    frontal_share: float = 0.4,
    noise: float = 2.0,
    seed: int = 0,
) -> list[np.ndarray]:
    """A synthetic head turn from one frontal photo: frontal frames first, then the nose moving sideways.

    `direction` is the person's own left or right in frames as captured (not mirrored): "left" moves
    the nose toward the image's right. `max_turn` is the final shift in eye distances; the landmark
    model follows part of it (the judge's yaw index moves by about 0.5-0.8 of it on the shared
    photos). Each frame gets Gaussian sensor noise of `noise` grey levels so that, as with a real
    camera, no two frames are identical. This mimics what the 5-point landmarks see in a real turn;
    a determined attacker could do the same with a replayed video (the check deters, it is not PAD).
    """
    if n < 2:
        raise ValueError("a head turn needs at least two frames")
    sign = 1.0 if direction == "left" else -1.0
    marks = _landmarks(rgb)
    still = max(1, round(n * frontal_share))
    turns = [0.0] * still + list(np.linspace(0, max_turn, n - still + 1)[1:])
    rng = np.random.default_rng(seed)
    frames = []
    for t in turns:
        frame = shift_nose(rgb, sign * t, marks=marks).astype(np.float32)
        frame += rng.normal(0.0, noise, size=frame.shape).astype(np.float32)
        frames.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return frames


def static_frames(rgb: np.ndarray, n: int, *, jpeg_noise: bool) -> list[np.ndarray]:
    """The same photo n times; with `jpeg_noise`, each copy re-encoded as JPEG at a different quality.

    A camera pointed at a printed photo gives near-identical frames; JPEG re-encoding stands in for
    that (a replay of one captured frame gives exactly identical ones).
    """
    if not jpeg_noise:
        return [rgb.copy() for _ in range(n)]
    qualities = np.linspace(70, 95, n).round().astype(int)
    return [_jpeg_round_trip(rgb, int(q)) for q in qualities]


def write_y4m(frames: Sequence[np.ndarray], path: Path | str, *, fps: int = 5) -> Path:
    """Write RGB frames as a YUV4MPEG2 4:2:0 file (Chromium's --use-file-for-fake-video-capture input).

    BT.601 limited-range YCbCr, chroma averaged over 2x2 blocks; all frames the same even size.
    """
    if not frames:
        raise ValueError("no frames")
    h, w = frames[0].shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"width and height must be even, got {w}x{h}")
    out = Path(path)
    with out.open("wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            if frame.shape != (h, w, 3):
                raise ValueError("all frames must be RGB and of the same size")
            rgb = frame.astype(np.float64) / 255.0
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
            cb = 128 - 37.797 * r - 74.203 * g + 112.0 * b
            cr = 128 + 112.0 * r - 93.786 * g - 18.214 * b

            def sub(c: np.ndarray) -> np.ndarray:
                return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

            fh.write(b"FRAME\n")
            for plane in (y, sub(cb), sub(cr)):
                fh.write(np.clip(np.rint(plane), 0, 255).astype(np.uint8).tobytes())
    return out
