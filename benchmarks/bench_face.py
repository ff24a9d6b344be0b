"""Face verification benchmark: latency per 640x480 frame and accuracy on the shared photos.

Usage: .venv/bin/python benchmarks/bench_face.py [--faces DIR] [--runs N]

Photos are named person_N.jpg (several people, several photos each). Prints the p50/p95 latency of
one verification (decode + HOG detection + encoding + distance) of a 640x480 JPEG frame, and the
false accepts / false rejects over every same-person and different-person pair, per tolerance,
for both per-photo comparison and the mean-encoding template.
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experts import identity  # noqa: E402

DEFAULT_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
TOLERANCES = (0.40, 0.45, 0.50, 0.55, 0.60)


def person_of(path: Path) -> str:
    """The person of a file named person_N.ext."""
    return path.stem.rsplit("_", 1)[0]


def photos(folder: Path) -> list[Path]:
    """The person_N photos of `folder` (not composed images such as two_faces_*)."""
    return sorted(p for p in folder.glob("*.jpg") if p.stem.rsplit("_", 1)[-1].isdigit()
                  and not p.stem.startswith("two_faces"))


def frame_640x480(path: Path) -> bytes:
    """The photo fitted into a 640x480 canvas, as JPEG bytes (a terminal camera frame)."""
    img = Image.open(path).convert("RGB")
    img.thumbnail((640, 480))
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(img, ((640 - img.width) // 2, (480 - img.height) // 2))
    buf = io.BytesIO()
    canvas.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def latency(paths: list[Path], runs: int) -> tuple[float, float, int]:
    """p50 and p95 (ms) of one verification of a 640x480 frame, and how many frames had no single face."""
    reference = identity.encode_image(paths[0].read_bytes())
    frames = [frame_640x480(p) for p in paths]
    times: list[float] = []
    missed = 0
    for i in range(runs):
        frame = frames[i % len(frames)]
        t0 = time.perf_counter()
        try:
            identity.compare(reference, identity.encode_image(frame))
        except identity.FaceError:
            missed += 1  # a frame without a single face still costs its detection
        times.append((time.perf_counter() - t0) * 1000)
    q = statistics.quantiles(times, n=100, method="inclusive")
    return statistics.median(times), q[94], missed


def accuracy(paths: list[Path]) -> None:
    """Print FA/FR per tolerance for per-photo pairs and for a leave-one-out mean template."""
    enc: dict[Path, np.ndarray] = {}
    for p in paths:
        try:
            enc[p] = identity.encode_image(p.read_bytes())
        except identity.FaceError as exc:
            print(f"skipped {p.name}: {exc}")
    usable = sorted(enc)
    same = [(a, b) for a, b in itertools.combinations(usable, 2) if person_of(a) == person_of(b)]
    diff = [(a, b) for a, b in itertools.combinations(usable, 2) if person_of(a) != person_of(b)]
    d_same = [identity.distance(enc[a], enc[b]) for a, b in same]
    d_diff = [identity.distance(enc[a], enc[b]) for a, b in diff]
    print(f"pairs: {len(same)} same-person, {len(diff)} different-person")
    print(f"same-person distance max {max(d_same):.3f}; different-person min {min(d_diff):.3f}")
    # Mean template: each probe against the mean of the other photos of each person (leave-one-out for its own).
    people = sorted({person_of(p) for p in usable})
    genuine: list[float] = []
    impostor: list[float] = []
    for probe in usable:
        for person in people:
            refs = [enc[p] for p in usable if person_of(p) == person and p != probe]
            if not refs:
                continue
            d = identity.distance(np.mean(refs, axis=0), enc[probe])
            (genuine if person == person_of(probe) else impostor).append(d)
    print(f"{'tolerance':>9}  {'pair FA':>7} {'pair FR':>7}  {'mean FA':>7} {'mean FR':>7}")
    for tol in TOLERANCES:
        fa = sum(d <= tol for d in d_diff)
        fr = sum(d > tol for d in d_same)
        mfa = sum(d <= tol for d in impostor)
        mfr = sum(d > tol for d in genuine)
        print(f"{tol:9.2f}  {fa:7d} {fr:7d}  {mfa:7d} {mfr:7d}")
    print(f"(mean template: {len(genuine)} genuine, {len(impostor)} impostor comparisons)")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    paths = photos(args.faces)
    if not paths:
        sys.exit(f"bench_face: no person_N.jpg photos in {args.faces}")
    if args.runs < 30:
        sys.exit("bench_face: use at least 30 runs")
    s = identity.get_settings()
    p50, p95, missed = latency(paths, args.runs)
    print(f"settings: face_upsample={s.face_upsample}, face_tolerance={s.face_tolerance}")
    print(f"verification latency per 640x480 frame over {args.runs} runs: p50 {p50:.0f} ms, p95 {p95:.0f} ms"
          f" ({missed} frames without exactly one face)")
    accuracy(paths)


if __name__ == "__main__":
    main()
