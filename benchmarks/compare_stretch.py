"""How far the featurize stage's stretch (made from the track's frames) is from the method's
(librosa's time stretch resynthesised to audio, then featurized), on real clips.

For each clip and each rate, the 44 summary features both ways; each difference is divided by
that feature's spread (standard deviation) over the clips' originals, so 1.0 is as far apart as
two typical tracks. Also prints how far the stretch itself moves the features from the
original's, on the same scale. Clips: ../shared/gtzan-sample (10 real GTZAN clips).

    python benchmarks/compare_stretch.py
    python benchmarks/compare_stretch.py --rates 0.8 0.9 1.1 1.25 --per-feature
"""

import argparse
import sys
from pathlib import Path

from genre import kernels  # noqa: F401 - first: it holds NumPy's and OpenBLAS's kernels

# isort: split
import numpy as np
from threadpoolctl import threadpool_limits

from genre import audio
from genre.features import augment, handcrafted
from genre.params import FeaturizeParams

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "gtzan-sample"
SR, DURATION = 22050, 30.0


def summaries(path: Path, rates: list[float], p: FeaturizeParams):
    """Summary features of the original, then per rate: (method's way, stage's way)."""
    size = handcrafted.clip_samples(sample_rate=SR, duration_s=DURATION)
    y = audio.fit_length(audio.read(path, sample_rate=SR).samples, size)
    magnitude, zcr = handcrafted.clip_frames(y, params=p)
    tuning = handcrafted.estimate_tuning(y, sample_rate=SR, params=p, magnitude=magnitude)
    kw = {"sample_rate": SR, "duration_s": DURATION, "params": p, "tuning": tuning}
    original = handcrafted.frames_clip_features(magnitude, zcr=zcr, **kw).summary
    pairs = []
    for rate in rates:
        row = {"clip_id": path.stem, "transform": "stretch", "stretch_rate": rate}
        resynthesised = handcrafted.clip_features(augment.apply(y, row, sample_rate=SR), **kw)
        stretched, stretched_zcr = augment.stretch_frames(magnitude, zcr, row)
        from_frames = handcrafted.frames_clip_features(stretched, zcr=stretched_zcr, **kw)
        pairs.append((resynthesised.summary, from_frames.summary))
    return original, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.82, 1.2])
    parser.add_argument("--per-feature", action="store_true", help="a line per feature")
    args = parser.parse_args()
    paths = sorted(SAMPLE.glob("*/*.wav"))
    if not paths:
        sys.exit(f"no clips in {SAMPLE}: this comparison needs the real GTZAN sample")
    originals, methods, stages = [], [], []
    with threadpool_limits(limits=1):
        for path in paths:
            original, pairs = summaries(path, args.rates, FeaturizeParams())
            for method, stage in pairs:
                originals.append(original)
                methods.append(method)
                stages.append(stage)
    originals, methods, stages = map(np.array, (originals, methods, stages))
    spread = originals[:: len(args.rates)].std(axis=0)
    apart = np.abs(methods - stages) / spread
    moved = np.abs(methods - originals) / spread
    if args.per_feature:
        for name, a, m in zip(handcrafted.FEATURE_NAMES, apart.T, moved.T, strict=True):
            print(
                f"{name:24s} stage vs method {np.median(a):6.3f}  stretch moves {np.median(m):6.3f}"
            )
    print(
        f"{len(paths)} clips x rates {args.rates}: the stage's stretch differs from the method's "
        f"by a median {np.median(apart):.2f} of a feature's spread over the tracks (mean "
        f"{apart.mean():.2f}); the stretch itself moves the features by {np.median(moved):.2f} "
        f"(mean {moved.mean():.2f})"
    )


if __name__ == "__main__":
    main()
