"""Liveness benchmark: judge() latency, per-frame cost, detection scale, and the figures behind the defaults.

Usage: .venv/bin/python benchmarks/bench_liveness.py [--faces DIR] [--runs N]

Prints the p50/p95 latency of judge() on 10-frame 640x480 synthetic head turns, the per-frame cost
of its steps, full-size vs downscaled HOG detection (time ratio in one interleaved run, faces
found), the yaw index |u| of the real shared photos (the frontal spread behind
liveness_frontal_max_yaw and liveness_turn_min_yaw), the yaw change of tilted flat photos, the
repeated-frame differences, and the encoding distances behind liveness_same_face_tolerance.
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkin import liveness  # noqa: E402
from config.settings import Settings  # noqa: E402
from experts import identity  # noqa: E402
from tests.experts import face_support as fs  # noqa: E402

DEFAULT_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"


def quantiles(times: list[float]) -> tuple[float, float]:
    """p50 and p95 of `times` (ms)."""
    q = statistics.quantiles(times, n=100, method="inclusive")
    return statistics.median(times), q[94]


def photos(folder: Path) -> dict[str, np.ndarray]:
    """The person_N photos of `folder` as 640x480 camera frames, by file stem."""
    return {p.stem: fs.camera_frame(fs.load_rgb(p)) for p in sorted(folder.glob("*_[0-9].jpg"))}


def frontal_subjects(frames: dict[str, np.ndarray], s: Settings) -> dict[str, np.ndarray]:
    """The frames whose single face is frontal by the setting, plus the astronaut."""
    out = {"astronaut": fs.astronaut_frame()}
    for name, frame in frames.items():
        faces = liveness.observe(frame, settings=s)
        if len(faces) == 1 and abs(faces[0].yaw) <= s.liveness_frontal_max_yaw:
            out[name] = frame
    return out


def bench_judge(subjects: dict[str, np.ndarray], runs: int, s: Settings) -> None:
    """judge() latency over 10-frame sequences, and how many passed."""
    sequences = []
    for i, (name, frame) in enumerate(subjects.items()):
        direction: liveness.Direction = "left" if i % 2 == 0 else "right"
        sequences.append((name, direction, fs.head_turn_frames(frame, direction=direction, n=10, seed=i)))
    times: list[float] = []
    failed: set[str] = set()
    for r in range(runs):
        name, direction, frames = sequences[r % len(sequences)]
        t0 = time.perf_counter()
        result = liveness.judge(frames, direction=direction, settings=s)
        times.append((time.perf_counter() - t0) * 1000)
        if not result.passed:
            failed.add(f"{name}:{result.code}")
    p50, p95 = quantiles(times)
    print(f"judge() on 10 frames of 640x480 over {runs} runs ({len(sequences)} subjects): "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms; failed genuine: {sorted(failed) or 'none'}")


def bench_steps(subjects: dict[str, np.ndarray], s: Settings) -> None:
    """Per-frame cost of the steps, and detection at full size vs 320 px wide (one interleaved run)."""
    import face_recognition

    frames = list(subjects.values())
    t_full, t_half, t_marks, t_enc, t_thumb = [], [], [], [], []
    found_full = found_half = 0
    for _ in range(3):
        for frame in frames:
            small = np.asarray(Image.fromarray(frame).resize((320, 240), Image.Resampling.BILINEAR))
            t0 = time.perf_counter()
            boxes = identity.face_boxes(frame, settings=s)
            t1 = time.perf_counter()
            half = identity.face_boxes(small, settings=s)
            t2 = time.perf_counter()
            face_recognition.face_landmarks(frame, face_locations=boxes, model="small")
            t3 = time.perf_counter()
            face_recognition.face_encodings(frame, known_face_locations=boxes[:1])
            t4 = time.perf_counter()
            liveness.thumbnail(frame)
            t5 = time.perf_counter()
            t_full.append((t1 - t0) * 1000)
            t_half.append((t2 - t1) * 1000)
            t_marks.append((t3 - t2) * 1000)
            t_enc.append((t4 - t3) * 1000)
            t_thumb.append((t5 - t4) * 1000)
            found_full += len(boxes) == 1
            found_half += len(half) == 1
    med = statistics.median
    print(f"per frame (median): HOG 640x480 {med(t_full):.1f} ms, HOG 320x240 {med(t_half):.1f} ms "
          f"(full/downscaled time ratio {med(t_full) / med(t_half):.2f}); 5-point landmarks {med(t_marks):.1f} ms; "
          f"thumbnail {med(t_thumb):.2f} ms; one encoding {med(t_enc):.0f} ms (judge makes 2-4)")
    print(f"single face found: {found_full}/{len(t_full)} at 640x480, {found_half}/{len(t_half)} at 320x240")


def bench_yaw(frames: dict[str, np.ndarray], s: Settings) -> None:
    """|u| of every real photo, and the share a frontal-max / turn-min pair would classify."""
    print("yaw index u of the shared photos at 640x480 (u > 0: the person's own left):")
    yaws = {}
    for name, frame in frames.items():
        faces = liveness.observe(frame, settings=s)
        if len(faces) == 1:
            yaws[name] = faces[0].yaw
    print("  " + ", ".join(f"{n} {u:+.3f}" for n, u in sorted(yaws.items(), key=lambda kv: abs(kv[1]))))
    values = np.abs(list(yaws.values()))
    print(f"  |u| median {np.median(values):.3f}, max {values.max():.3f}; "
          f"{int((values <= s.liveness_frontal_max_yaw).sum())}/{len(values)} within frontal max "
          f"{s.liveness_frontal_max_yaw}")


def _tilt(frame: np.ndarray, kind: str) -> np.ndarray:
    """A flat photo compressed along x (about 57 degrees), in strong perspective, or rotated 15 degrees."""
    from skimage.transform import AffineTransform, ProjectiveTransform, warp

    h, w = frame.shape[:2]
    if kind == "compressed":
        tform = AffineTransform(scale=(0.55, 1), translation=(w * 0.225, 0))
    elif kind == "rotated":
        tform = (AffineTransform(translation=(-w / 2, -h / 2)) + AffineTransform(rotation=np.radians(15))
                 + AffineTransform(translation=(w / 2, h / 2)))
    else:
        dx, dy = w * 0.225, h * 0.225  # the far edge 55% as tall as the near one
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
        tform = ProjectiveTransform.from_estimate(
            src, np.array([[dx, dy * 0.2], [w - dx, dy], [w - dx, h - dy], [dx, h - dy * 0.2]]))
    return np.clip(np.rint(warp(frame, tform.inverse, preserve_range=True)), 0, 255).astype(np.uint8)


def bench_tilt(subjects: dict[str, np.ndarray], s: Settings) -> None:
    """The largest yaw change of a frontal flat photo tilted, seen both ways round (mirrored too)."""
    worst = {"compressed": 0.0, "perspective": 0.0, "rotated": 0.0}
    for frame in subjects.values():
        for f in (frame, np.ascontiguousarray(frame[:, ::-1])):
            base = liveness.observe(f, settings=s)
            for kind in worst:
                faces = liveness.observe(_tilt(f, kind), settings=s)
                if len(base) == 1 and len(faces) == 1:
                    worst[kind] = max(worst[kind], abs(faces[0].yaw - base[0].yaw))
    print("flat photo tilted, largest |change of u|: " + ", ".join(f"{k} {v:.3f}" for k, v in worst.items())
          + f" (turn min {s.liveness_turn_min_yaw})")


def bench_repeats(subjects: dict[str, np.ndarray]) -> None:
    """Thumbnail differences: same-quality JPEG repeats vs live-like frames (sensor noise only)."""
    rng = np.random.default_rng(1)

    def rt(rgb: np.ndarray, q: int) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(fs.jpeg_bytes(rgb, q))).convert("RGB"))

    same_q, other_q, noisy = [], [], []
    for frame in subjects.values():
        f = rt(frame, 85)
        same_q.append(liveness.smallest_difference([f, rt(f, 85)]))
        other_q.append(liveness.smallest_difference([f, rt(f, 95)]))
        live = [rt(np.clip(frame + rng.normal(0, 1.0, frame.shape), 0, 255).astype(np.uint8), 85) for _ in range(4)]
        noisy.append(liveness.smallest_difference(live))
    print(f"thumbnail difference: repeat re-encoded at the same quality max {max(same_q):.3f}; at 85 vs 95 "
          f"min {min(other_q):.3f}; live-like (noise sd 1, no motion) min {min(noisy):.3f}")


def bench_same_face(frames: dict[str, np.ndarray], subjects: dict[str, np.ndarray]) -> None:
    """Encoding distances: frontal vs turned synthetic frames (same person), different people (real photos)."""
    same = []
    for frame in subjects.values():
        turned = fs.shift_nose(frame, 0.3)
        if len(identity.face_boxes(turned)) == 1:
            same.append(identity.distance(identity.encode_single_face(frame), identity.encode_single_face(turned)))
    enc = {n: identity.encode_single_face(f) for n, f in frames.items() if len(identity.face_boxes(f)) == 1}
    pairs = list(itertools.combinations(enc, 2))
    diff = [identity.distance(enc[a], enc[b]) for a, b in pairs if a.rsplit("_", 1)[0] != b.rsplit("_", 1)[0]]
    real_same = [identity.distance(enc[a], enc[b]) for a, b in pairs if a.rsplit("_", 1)[0] == b.rsplit("_", 1)[0]]
    print(f"encoding distance: synthetic frontal vs turned max {max(same):.3f}; same person across real photos "
          f"max {max(real_same):.3f}; different people min {min(diff):.3f}")


def main() -> None:
    """Run the benchmark."""
    warnings.filterwarnings("ignore", category=UserWarning)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if args.runs < 20:
        sys.exit("bench_liveness: use at least 20 runs")
    s = Settings()
    frames = photos(args.faces) if args.faces.is_dir() else {}
    if not frames:
        print(f"bench_liveness: no shared photos in {args.faces}; the astronaut only")
    subjects = frontal_subjects(frames, s)
    bench_judge(subjects, args.runs, s)
    bench_steps(subjects, s)
    if frames:
        bench_yaw(frames, s)
    bench_tilt(subjects, s)
    bench_repeats(subjects)
    if frames:
        bench_same_face(frames, subjects)


if __name__ == "__main__":
    main()
