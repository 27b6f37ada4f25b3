"""Benchmark: the featurize stage against the seed's way of computing the same 44 handcrafted.

The seed's way, per clip FILE: librosa.load, then separate librosa calls (mfcc, delta x 2,
zero_crossing_rate, spectral_centroid, spectral_rolloff, chroma_stft, spectral_bandwidth), each
from the samples, so each spectral call makes its own STFT (chroma_stft also estimates tuning).
The seed made its augmented clips first, with librosa (white noise in float64, np.roll,
librosa.effects.time_stretch), and wrote them to files: `seed_augment` times that making (not
the WAV writing) so the whole-stage ratio charges the seed for it too.
This stage's way, per TRACK: decode once, one STFT per clip made as audio (the original's
shared by its features, the track's tuning and the stretches), tuning once per track, the
augmented variants made in memory: noise and shift by augment.apply, a stretch from the
original's frames by augment.stretch_frames (their time is included, and also reported
on its own).

Both run on the same clips in one run, interleaved, best of --repeat, so a machine shared with
other work slows both alike, and both with one BLAS thread. The per-clip ratios use ONE process
for the stage (GENRE_N_JOBS=1); the run with all cores is printed too. Clips: the 10 real GTZAN
clips in ../shared/gtzan-sample when present, else 10 synthetic 30 s WAV files; each gets
--variants augmented variants.

    python benchmarks/bench_featurize.py            # seed vs stage, seconds per clip, ratio
    python benchmarks/bench_featurize.py --full     # featurize data/raw + manifest, 2 cores:
                                                    # wall time and peak memory (run in the
                                                    # project folder after `dvc repro augment`)
    python benchmarks/bench_featurize.py --kernels --repeat 10  # the stage (1 process) with
                                                    # this CPU's own NumPy and OpenBLAS kernels
                                                    # (AVX-512 here) against the AVX2 ones
                                                    # genre.kernels holds them to
    ... --sample DIR                                # the real clips from DIR
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from genre import kernels  # first: it holds NumPy's and OpenBLAS's kernels before they load

# isort: split
import librosa
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from genre import GENRES, audio, params, paths
from genre.features import augment, handcrafted
from genre.features import store as stage
from genre.features.augment import build_manifest
from genre.features.layout import FeatureSettings
from genre.files import read_csv
from genre.params import AugmentParams, FeaturizeParams

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "gtzan-sample"
SR, DURATION = 22050, 30.0


def seed_way(paths: list[Path], *, p: FeaturizeParams) -> None:
    """The seed's feature extraction: one clip file at a time, one librosa call per feature."""
    kw = {"n_fft": p.n_fft, "hop_length": p.hop_length}
    for path in paths:
        y, sr = librosa.load(path, sr=SR)
        mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=p.n_mfcc, **kw)
        librosa.feature.delta(mfcc)
        librosa.feature.delta(mfcc, order=2)
        librosa.feature.zero_crossing_rate(y, frame_length=p.n_fft, hop_length=p.hop_length)
        librosa.feature.spectral_centroid(y=y, sr=sr, **kw)
        librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85, **kw)
        librosa.feature.chroma_stft(y=y, sr=sr, **kw)
        librosa.feature.spectral_bandwidth(y=y, sr=sr, **kw)


def make_tracks(raw: Path, *, sample: Path) -> pd.DataFrame:
    """Link the real sample clips into raw/, or write synthetic ones; return the index."""
    rows = []
    for i, genre in enumerate(GENRES):
        rel = Path(genre) / f"{genre}.00000.wav"
        (raw / genre).mkdir(parents=True, exist_ok=True)
        if (sample / rel).is_file():
            (raw / rel).symlink_to(sample / rel)
        else:
            t = np.arange(int(DURATION * SR)) / SR
            tone = np.sin(2 * np.pi * (110 * (i + 1) * t + 40 * t**2))
            noise = np.random.default_rng(i).standard_normal(t.size)
            audio.write_wav(raw / rel, 0.3 * tone + 0.05 * noise, sample_rate=SR)
        rows.append({"track_id": f"{genre}.00000", "genre": genre, "path": str(rel)})
    return pd.DataFrame(rows)


def write_clip_files(manifest: pd.DataFrame, index: pd.DataFrame, *, raw: Path, out: Path):
    """The seed kept every augmented clip as a WAV file: render them (untimed)."""
    paths = dict(zip(index["track_id"], index["path"], strict=True))
    files = []
    for row in manifest.to_dict("records"):
        samples = audio.read(raw / paths[row["track_id"]], sample_rate=SR).samples
        samples = audio.fit_length(samples, int(DURATION * SR))
        files.append(out / f"{row['clip_id']}.wav")
        audio.write_wav(files[-1], augment.apply(samples, row, sample_rate=SR), sample_rate=SR)
    return files


def seed_augment(samples: np.ndarray, row: dict) -> np.ndarray:
    """The seed's way of making one augmented clip (before writing it to a file)."""
    if row["transform"] == "noise":
        rng = np.random.default_rng(int(row["seed"]))
        power = float(np.mean(np.square(samples, dtype=np.float64)))
        noise = rng.standard_normal(samples.size) * np.sqrt(power / 10 ** (row["snr_db"] / 10))
        return (samples + noise).astype(np.float32)
    if row["transform"] == "shift":
        return np.roll(samples, round(row["shift_s"] * SR))
    if row["transform"] == "stretch":
        out = librosa.effects.time_stretch(samples, rate=row["stretch_rate"])
        return audio.fit_length(out, samples.size)
    return samples.copy()


def augment_time(manifest: pd.DataFrame, index: pd.DataFrame, *, raw: Path, seed: bool) -> float:
    """Seconds spent making the augmented clips: the seed's way, or as the stage makes them
    (a stretch from the original's frames, which the stage computes for its features)."""
    where = dict(zip(index["track_id"], index["path"], strict=True))
    p = FeaturizeParams()
    spent = 0.0
    for track, rows in manifest.groupby("track_id", sort=False):
        samples = audio.read(raw / where[track], sample_rate=SR).samples
        samples = audio.fit_length(samples, int(DURATION * SR))
        magnitude, zcr = handcrafted.clip_frames(samples, params=p)
        start = time.perf_counter()
        for row in rows.to_dict("records"):
            if seed:
                seed_augment(samples, row)
            elif row["transform"] == "stretch":
                augment.stretch_frames(magnitude, zcr, row)
            else:
                augment.apply(samples, row, sample_rate=SR)
        spent += time.perf_counter() - start
    return spent


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(args: argparse.Namespace) -> None:
    p = FeaturizeParams()
    settings = FeatureSettings(SR, DURATION, p)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = make_tracks(tmp / "raw", sample=args.sample)
        manifest = build_manifest(index, params=AugmentParams(factor=1 + args.variants))
        (tmp / "clips").mkdir()
        files = write_clip_files(manifest, index, raw=tmp / "raw", out=tmp / "clips")
        source = "real GTZAN" if (args.sample / "blues").is_dir() else "synthetic"
        print(
            f"{len(index)} {source} tracks x {1 + args.variants} clips = {len(files)} clips, "
            f"{DURATION:.0f} s each; best of {args.repeat}, interleaved"
        )

        def run_stage(n_jobs: int) -> None:
            stage.featurize(
                index,
                manifest,
                settings=settings,
                n_jobs=n_jobs,
                raw_dir=tmp / "raw",
                out_dir=tmp / "out",
                metrics_path=tmp / "out" / "metrics.json",
            )

        run_stage(1)  # warm-up: librosa's lazy imports and numba compilation
        best = {"seed": [], "seed_augment": [], "stage": [], "stage_all": [], "augment": []}
        for _ in range(args.repeat):
            with threadpool_limits(limits=1):  # as the stage's processes run
                best["seed"].append(timed(lambda: seed_way(files, p=p)))
                best["seed_augment"].append(
                    augment_time(manifest, index, raw=tmp / "raw", seed=True)
                )
                best["augment"].append(augment_time(manifest, index, raw=tmp / "raw", seed=False))
            best["stage"].append(timed(lambda: run_stage(1)))
            best["stage_all"].append(timed(lambda: run_stage(os.cpu_count() or 1)))
    per_clip = {name: min(times) / len(files) for name, times in best.items()}
    seed, own = per_clip["seed"], per_clip["stage"]
    print(f"seed's way (file per clip, librosa call per feature): {seed * 1e3:7.1f} ms/clip")
    print(
        f"stage, 1 process:                                     {own * 1e3:7.1f} ms/clip  "
        f"ratio {seed / own:.1f}x"
    )
    print(
        f"  of which making the augmented clips:                "
        f"{per_clip['augment'] * 1e3:7.1f} ms/clip"
    )
    print(
        f"  features alone (stage minus making the clips):      "
        f"{(own - per_clip['augment']) * 1e3:7.1f} ms/clip  "
        f"ratio {seed / (own - per_clip['augment']):.1f}x"
    )
    made = seed + per_clip["seed_augment"]  # the seed made its augmented clips first
    print(
        f"  the seed's making of its augmented clips:           "
        f"{per_clip['seed_augment'] * 1e3:7.1f} ms/clip"
    )
    print(
        f"seed's way incl. making its augmented clips:          {made * 1e3:7.1f} ms/clip  "
        f"ratio {made / own:.1f}x  (the whole stage, 1 process; WAV writes not counted)"
    )
    print(
        f"stage, GENRE_N_JOBS={os.cpu_count()} (all cores):                     "
        f"{per_clip['stage_all'] * 1e3:7.1f} ms/clip  ratio {made / per_clip['stage_all']:.1f}x"
        f"  (against the seed incl. augmentation)"
    )


def full(args: argparse.Namespace) -> None:
    """Featurize the project's data/raw + manifest on 2 cores into a temporary folder."""
    data = params.load("data")
    settings = FeatureSettings(data.sample_rate, data.duration_s, params.load("featurize"))
    index = read_csv(paths.INDEX, columns=["track_id", "genre", "path"], made_by="download")
    manifest = read_csv(paths.MANIFEST, columns=augment.COLUMNS, made_by="augment")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        metrics = stage.featurize(
            index,
            manifest,
            settings=settings,
            n_jobs=args.n_jobs,
            out_dir=Path(tmp),
            metrics_path=Path(tmp) / "metrics.json",
        )
        wall = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{metrics['clips']} clips ({metrics['skipped']} skipped) of {metrics['tracks']} "
        f"tracks, {args.n_jobs} processes: {wall:.0f} s wall, {wall / metrics['clips'] * 1e3:.0f} "
        f"ms/clip; peak RSS: main process {own:.0f} MiB, largest worker {children:.0f} MiB"
    )


KERNEL_SETTINGS = ("AVX-512", "held")  # this CPU's own kernels; genre.kernels' AVX2 ones


def kernels_child(args: argparse.Namespace) -> None:
    """One --kernels process: warm up, then one timed stage run (GENRE_N_JOBS=1, in this
    process) per `run` line read from stdin, its wall and CPU seconds printed per line."""
    if args.kernels_child == "AVX-512":  # computing with them is the point: no refusal
        kernels.check_held = lambda **_: None
    settings = FeatureSettings(SR, DURATION, FeaturizeParams())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = make_tracks(tmp / "raw", sample=args.sample)
        manifest = build_manifest(index, params=AugmentParams(factor=1 + args.variants))

        def run_stage() -> None:
            out = tmp / "out"
            stage.featurize(
                index,
                manifest,
                settings=settings,
                n_jobs=1,
                raw_dir=tmp / "raw",
                out_dir=out,
                metrics_path=out / "metrics.json",
            )

        run_stage()  # warm-up: librosa's lazy imports, numba's cache
        print(len(manifest), flush=True)
        for _ in sys.stdin:
            wall, cpu = time.perf_counter(), time.process_time()
            run_stage()
            print(time.perf_counter() - wall, time.process_time() - cpu, flush=True)


def compare_kernels(args: argparse.Namespace) -> None:
    """The stage on one process with this CPU's own NumPy and OpenBLAS kernels (AVX-512 here)
    and with the AVX2 ones genre.kernels holds them to: one process each, runs interleaved."""
    import subprocess

    from check_avx2_reproducible import child_env, native_core  # benchmarks/ is on sys.path

    core, avx512 = native_core()
    own = {"NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": core}
    children = {}
    for name in KERNEL_SETTINGS:
        command = [sys.executable, __file__, "--kernels-child", name]
        command += ["--variants", str(args.variants), "--sample", str(args.sample)]
        env = child_env(own if name == "AVX-512" else {})
        children[name] = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    clips = {name: int(child.stdout.readline()) for name, child in children.items()}
    source = "real GTZAN" if (args.sample / "blues").is_dir() else "synthetic"
    print(
        f"featurize stage, 1 process, {clips['held']} clips of 10 {source} tracks; this CPU: "
        f"NumPy AVX-512 {avx512}, OpenBLAS {core}; best of {args.repeat}, interleaved"
    )
    times = {name: [] for name in KERNEL_SETTINGS}
    for _ in range(args.repeat):
        for name, child in children.items():
            child.stdin.write("run\n")
            child.stdin.flush()
            times[name].append(tuple(map(float, child.stdout.readline().split())))
    for child in children.values():
        child.stdin.close()
        child.wait()
    for name in KERNEL_SETTINGS:
        wall, cpu = (min(t[i] for t in times[name]) / clips[name] * 1e3 for i in (0, 1))
        print(f"{name:8} {wall:6.1f} ms/clip wall, {cpu:6.1f} ms/clip CPU")
    ratio = [min(t[i] for t in times["held"]) / min(t[i] for t in times["AVX-512"]) for i in (0, 1)]
    print(f"held / AVX-512: {ratio[0]:.3f} wall, {ratio[1]:.3f} CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=6, help="augmented clips per track")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each way (best kept)")
    parser.add_argument("--full", action="store_true", help="featurize the project's data")
    parser.add_argument("--n-jobs", type=int, default=2, help="processes for --full")
    parser.add_argument(
        "--kernels", action="store_true", help="the stage with AVX-512 kernels against held ones"
    )
    parser.add_argument("--kernels-child", choices=KERNEL_SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the real clips' folder")
    args = parser.parse_args()
    if args.kernels_child:
        kernels_child(args)
    elif args.kernels:
        compare_kernels(args)
    elif args.full:
        full(args)
    else:
        compare(args)


if __name__ == "__main__":
    sys.exit(main())
