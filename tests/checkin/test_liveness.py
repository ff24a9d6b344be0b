"""Liveness (pure): synthetic head turns from the shared photos and the astronaut, static and tilted photos."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.transform import AffineTransform, ProjectiveTransform, warp

from checkin import liveness
from config.settings import Settings
from experts import identity
from tests.experts import face_support as fs

# Photos of people looking (nearly) straight at the camera: |yaw index| under 0.05 at 640x480.
FRONTAL = ["alex_lacamoire_2", "obama_1", "rose_leslie_1"]


def photo(name: str) -> np.ndarray:
    """A shared photo as a 640x480 camera frame (skips the test when the photos are absent)."""
    path = fs.skip_without_faces() / f"{name}.jpg"
    if not path.is_file():
        pytest.skip(f"shared face photo {path} absent")
    return fs.camera_frame(fs.load_rgb(path))


def subject(name: str) -> np.ndarray:
    return fs.astronaut_frame() if name == "astronaut" else photo(name)


def other(direction: liveness.Direction) -> liveness.Direction:
    return "right" if direction == "left" else "left"


_turns: dict[tuple[str, str], list[np.ndarray]] = {}


def turn(name: str, direction: liveness.Direction) -> list[np.ndarray]:
    """A cached synthetic 10-frame head turn of `name` to the person's own `direction`."""
    key = (name, direction)
    if key not in _turns:
        _turns[key] = fs.head_turn_frames(subject(name), direction=direction, n=10)
    return [f.copy() for f in _turns[key]]


@pytest.mark.parametrize("name", ["astronaut", *FRONTAL])
@pytest.mark.parametrize("direction", ["left", "right"])
def test_turn_in_the_asked_direction_passes_the_other_fails(name: str, direction: liveness.Direction) -> None:
    frames = turn(name, direction)
    result = liveness.judge(frames, direction=direction)
    assert (result.passed, result.code) == (True, "ok"), result
    wrong = liveness.judge(frames, direction=other(direction))
    assert (wrong.passed, wrong.code) == (False, "wrong_direction")
    assert f"your {other(direction)}" in wrong.message and "wrong way" in wrong.message


def test_sign_convention_left_is_the_image_right() -> None:
    """The person's own left appears on the image's right: moving the nose image-right is a left turn."""
    frame = fs.astronaut_frame()
    before = liveness.observe(frame)[0].yaw
    after = liveness.observe(fs.shift_nose(frame, 0.3))[0].yaw
    assert after - before > 0.15
    mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in turn("astronaut", "left")]
    # A mirrored capture (a page that sends its mirrored preview) turns the other way.
    assert liveness.judge(mirrored, direction="left").code == "wrong_direction"
    assert liveness.judge(mirrored, direction="right").passed


def test_pass_carries_the_frontal_face_for_the_one_to_one_match() -> None:
    frames = turn("astronaut", "left")
    result = liveness.judge(frames, direction="left")
    assert result.passed and result.frontal_index is not None and result.frontal_box is not None
    assert abs(liveness.observe(frames[result.frontal_index])[0].yaw) <= Settings().liveness_frontal_max_yaw
    encoding = identity.encode_single_face(frames[result.frontal_index])
    assert result.frontal_encoding is not None
    assert identity.distance(result.frontal_encoding, encoding) < 1e-6
    assert "frontal_encoding" not in repr(result)


def test_no_turn_fails() -> None:
    frames = turn("astronaut", "left")[:4]  # the frontal part only, padded with more still frames
    rng = np.random.default_rng(3)
    still = fs.astronaut_frame().astype(float)
    frames += [np.clip(still + rng.normal(0, 2, still.shape), 0, 255).astype(np.uint8) for _ in range(4)]
    for direction in ("left", "right"):
        result = liveness.judge(frames, direction=direction)
        assert (result.passed, result.code) == (False, "no_turn")
        assert f"your {direction}" in result.message


def test_static_photo_fails() -> None:
    frame = fs.astronaut_frame()
    same = liveness.judge(fs.static_frames(frame, 8, jpeg_noise=False), direction="left")
    assert (same.passed, same.code) == (False, "repeated_frames")
    # Re-encoded at 70..95 the copies differ like live frames do; the missing turn refuses them.
    reencoded = liveness.judge(fs.static_frames(frame, 8, jpeg_noise=True), direction="right")
    assert not reencoded.passed and reencoded.code in {"repeated_frames", "no_turn"}


def test_a_repeated_frame_fails_even_inside_a_real_turn() -> None:
    frames = turn("astronaut", "right")
    assert liveness.judge(frames, direction="right").passed
    copied = list(frames)
    copied[2] = frames[8].copy()
    assert liveness.judge(copied, direction="right").code == "repeated_frames"
    again = list(frames)
    # The same frame re-encoded at the page's own JPEG quality still counts as repeated.
    again[1] = np.asarray(Image.open(io.BytesIO(fs.jpeg_bytes(frames[6], 85))))
    frames_jpeg = [np.asarray(Image.open(io.BytesIO(fs.jpeg_bytes(f, 85)))) for f in again]
    assert liveness.judge(frames_jpeg, direction="right").code == "repeated_frames"


def test_frames_without_a_face_fail() -> None:
    frames = turn("astronaut", "left")
    blank = np.full_like(frames[0], 128)
    for i in (1, 3, 5, 7):
        frames[i] = np.clip(blank + i, 0, 255).astype(np.uint8)
    result = liveness.judge(frames, direction="left")
    assert (result.passed, result.code) == (False, "no_face")
    one_missing = turn("astronaut", "left")
    one_missing[1] = blank
    assert liveness.judge(one_missing, direction="left").passed  # one frame lost to the detector is tolerated


def test_two_faces_fail() -> None:
    path = fs.skip_without_faces() / "two_faces_obama_biden.jpg"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    frames = turn("astronaut", "left")
    frames[5] = fs.camera_frame(fs.load_rgb(path))
    result = liveness.judge(frames, direction="left")
    assert (result.passed, result.code) == (False, "many_faces")
    assert "only you" in result.message


def test_person_switched_mid_way_fails() -> None:
    first, second = turn(FRONTAL[0], "left"), turn(FRONTAL[1], "left")
    assert liveness.judge(second, direction="left").passed
    swapped = first[:5] + second[5:]
    assert liveness.judge(swapped, direction="left").code == "face_changed"


def test_person_switched_in_the_same_place_is_caught_by_the_encodings() -> None:
    first, second = turn(FRONTAL[0], "left"), turn(FRONTAL[1], "left")
    box_a, box_b = liveness.observe(first[0])[0], liveness.observe(second[0])[0]
    # Move and scale the second person onto the first one's box so that only identity differs.
    scale = box_a.width / box_b.width
    shift = box_a.centre - scale * box_b.centre
    tform = AffineTransform(scale=scale, translation=shift)
    moved = [(warp(f, tform.inverse, preserve_range=True)).round().astype(np.uint8) for f in second]
    swapped = first[:4] + moved[4:]
    loose = Settings(liveness_max_jump=5, liveness_max_size_ratio=5)
    assert liveness.judge(first, direction="left", settings=loose).passed
    assert liveness.judge(swapped, direction="left", settings=loose).code == "face_changed"


def test_a_face_jumping_between_frames_fails() -> None:
    """Spliced footage: the same face leaps sideways between two frames (a real head moves smoothly)."""
    frames = turn("astronaut", "left")
    width = liveness.observe(frames[0])[0].width
    spliced = frames[:6] + [np.roll(f, round(0.8 * width), axis=1) for f in frames[6:]]
    assert liveness.judge(spliced, direction="left").code == "face_changed"
    assert liveness.judge(spliced, direction="left", settings=Settings(liveness_max_jump=1.0)).passed


def test_frame_counts_are_checked() -> None:
    frames = turn("astronaut", "left")
    assert liveness.judge(frames[:5], direction="left").code == "too_few_frames"
    assert liveness.judge(frames[:6], direction="left").code != "too_few_frames"
    many = frames + turn("astronaut", "right")
    assert liveness.judge(many[:17], direction="left").code == "too_many_frames"
    assert liveness.judge(frames, direction="left", settings=Settings(liveness_min_frames=11)).code == "too_few_frames"


def test_not_frontal_fails() -> None:
    frame = fs.astronaut_frame()
    frames = [fs.shift_nose(frame, 0.2 + 0.02 * i) for i in range(8)]  # turned throughout
    result = liveness.judge(frames, direction="left")
    assert (result.passed, result.code) == (False, "not_frontal")


def _tilted(frame: np.ndarray, kind: str, amount: float) -> np.ndarray:
    """The frame as a flat photo would look when tilted: compressed, in perspective or rotated."""
    h, w = frame.shape[:2]
    cx, cy = w / 2, h / 2
    if kind == "affine":
        tform = AffineTransform(scale=(1 - amount, 1), translation=(cx * amount, 0))
    elif kind == "rotate":
        tform = AffineTransform(translation=(-cx, -cy)) + AffineTransform(rotation=amount) + AffineTransform(
            translation=(cx, cy))
    else:
        # A photo turned about its vertical axis: the far edge shrinks (perspective).
        dx, dy = w * amount * 0.5, h * amount * 0.5
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
        dst = np.array([[dx, dy * 0.2], [w - dx, dy], [w - dx, h - dy], [dx, h - dy * 0.2]])
        tform = ProjectiveTransform.from_estimate(src, dst)
        assert tform
    out = warp(frame, tform.inverse, mode="edge", preserve_range=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("kind", "amounts"), [
    ("affine", np.linspace(0, 0.45, 8)),  # up to about 57 degrees of foreshortening
    ("perspective", np.linspace(0, 0.35, 8)),
    ("rotate", np.radians(np.linspace(-15, 15, 8))),
])
@pytest.mark.parametrize("name", ["astronaut", *FRONTAL])
def test_a_tilted_flat_photo_is_not_a_turn(kind: str, amounts: np.ndarray, name: str) -> None:
    frame = subject(name)
    frames = [_tilted(frame, kind, float(a)) for a in amounts]
    yaws = [liveness.observe(f)[0].yaw for f in frames if liveness.observe(f)]
    assert len(yaws) >= 6
    assert max(abs(y - yaws[0]) for y in yaws) < Settings().liveness_turn_min_yaw
    for direction in ("left", "right"):
        assert liveness.judge(frames, direction=direction).code == "no_turn"


def test_judge_images_decodes_jpeg_frames() -> None:
    frames = turn("astronaut", "right")
    data = [fs.jpeg_bytes(f, 90) for f in frames]
    assert liveness.judge_images(data, direction="right").passed
    assert liveness.judge_images(data * 2, direction="right").code == "too_many_frames"
    with pytest.raises(identity.FaceError):
        liveness.judge_images([*data[:-1], b"not an image"], direction="right")


def test_bad_arguments_raise() -> None:
    frames = turn("astronaut", "left")
    with pytest.raises(ValueError):
        liveness.judge(frames, direction="up")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        liveness.judge([f.astype(np.float32) for f in frames], direction="left")


def test_choose_direction_is_uniform_over_left_and_right() -> None:
    counts = Counter(liveness.choose_direction() for _ in range(2000))
    assert set(counts) == {"left", "right"}
    # Binomial(2000, 1/2): sd about 22; 6 sd either side.
    assert abs(counts["left"] - 1000) < 135


def test_y4m_file_is_well_formed(tmp_path: Path) -> None:
    frames = [fs.astronaut_frame(), np.zeros((480, 640, 3), np.uint8)]
    path = fs.write_y4m(frames, tmp_path / "cam.y4m", fps=5)
    raw = path.read_bytes()
    header, rest = raw.split(b"\n", 1)
    assert header == b"YUV4MPEG2 W640 H480 F5:1 Ip A1:1 C420jpeg"
    frame_size = 640 * 480 * 3 // 2
    assert len(rest) == 2 * (len(b"FRAME\n") + frame_size)
    second = rest[len(b"FRAME\n") + frame_size:]
    assert second.startswith(b"FRAME\n")
    y = np.frombuffer(second[6:6 + 640 * 480], np.uint8)
    assert set(np.unique(y)) == {16}  # black is Y=16 in limited range
    first_y = np.frombuffer(rest[6:6 + 640 * 480], np.uint8).reshape(480, 640)
    grey = np.asarray(Image.fromarray(frames[0]).convert("L"), dtype=float)
    assert np.corrcoef(first_y.ravel(), grey.ravel())[0, 1] > 0.99
    with pytest.raises(ValueError):
        fs.write_y4m([np.zeros((481, 640, 3), np.uint8)], tmp_path / "odd.y4m")
