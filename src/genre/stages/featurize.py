"""Stage `featurize`: the 44 features of every manifest clip (data/features/, metrics/).

Reads params `featurize`, `data.sample_rate` and `data.duration_s`, data/raw/index.csv,
data/augmented/manifest.csv and the audio in data/raw/<path>. Each TRACK is decoded once and
cropped/zero-padded to data.duration_s (its original clip); its chroma tuning is estimated once on
that original and reused for all its clips, which genre.augment.apply makes from it in memory (so
a stretched or noisy variant's chroma uses its track's tuning, not one re-estimated on the
variant). Tracks are spread over featurize.n_jobs processes (0 = all cores); each clip's result
is stored at its manifest row, so the output is in manifest order whatever the scheduling, and
bitwise identical for any n_jobs (every process runs its BLAS single-threaded).

Writes, atomically: data/features/summary.parquet (clip_id, track_id, genre, transform, then the
44 features as float32), data/features/sequences.npy (float32 [clips, steps, 44], rows aligned
with summary.parquet), data/features/skipped.csv (clip_id, track_id, reason) and
metrics/featurize.json. A track that cannot be read skips its clips (listed and printed); if no
clip is left the stage fails.
"""

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from genre import audio, augment, features, params
from genre.errors import GenreError, run_cli
from genre.files import atomic_path, read_csv, write_csv, write_json
from genre.params import FeaturizeParams
from genre.paths import FEATURES_DIR as OUT_DIR
from genre.paths import ID_COLUMNS, INDEX, MANIFEST, METRICS_DIR, RAW_DIR

METRICS = METRICS_DIR / "featurize.json"
SHOWN_SKIPS = 20  # skipped clips printed; all are listed in skipped.csv


@dataclass(frozen=True)
class Settings:
    sample_rate: int
    duration_s: float
    params: FeaturizeParams


@dataclass(frozen=True)
class TrackJob:
    path: Path  # the track's audio file
    positions: tuple[int, ...]  # manifest rows of its clips
    rows: tuple[dict, ...]  # those rows, as genre.augment.apply takes them


def track_jobs(index: pd.DataFrame, manifest: pd.DataFrame, *, raw_dir: Path) -> list[TrackJob]:
    """One job per track, in order of first appearance in the manifest."""
    if manifest.empty:
        raise GenreError(f"{MANIFEST} lists no clips: run `dvc repro augment`")
    duplicated = manifest["clip_id"][manifest["clip_id"].duplicated()]
    if not duplicated.empty:
        raise GenreError(
            f"{MANIFEST} lists clip {duplicated.iloc[0]} twice: run `dvc repro augment`"
        )
    paths = dict(zip(index["track_id"], index["path"], strict=True))
    unknown = manifest.loc[~manifest["track_id"].isin(paths), "track_id"]
    if not unknown.empty:
        raise GenreError(
            f"{MANIFEST} does not match {INDEX} (track {unknown.iloc[0]} is not "
            "in the index): run `dvc repro augment`"
        )
    records = manifest.to_dict("records")
    rows_of = manifest.groupby("track_id").indices
    return [
        TrackJob(
            raw_dir / paths[track],
            tuple(int(i) for i in rows_of[track]),
            tuple(records[i] for i in rows_of[track]),
        )
        for track in manifest["track_id"].unique()
    ]


def featurize_track(job: TrackJob, *, settings: Settings) -> list[tuple[int, object]]:
    """(manifest row, ClipFeatures or why it was skipped) for each clip of one track.

    The original clip goes first: the chroma tuning estimated on it is the track's.
    """
    sr = settings.sample_rate
    size = features.clip_samples(sample_rate=sr, duration_s=settings.duration_s)
    try:
        decoded = audio.read(job.path, sample_rate=sr).samples
        original = features.check_samples(decoded, n_fft=settings.params.n_fft)
    except GenreError as err:
        reason = str(err) if str(job.path) in str(err) else f"{job.path}: {err}"
        return [(position, reason) for position in job.positions]
    original = audio.fit_length(original, size)
    first = [row["transform"] == "original" for row in job.rows]
    order = sorted(range(len(job.rows)), key=lambda i: not first[i])
    tuning = None  # set by the original clip; a track without one estimates it here
    if not any(first):
        tuning = features.estimate_tuning(original, sample_rate=sr, params=settings.params)
    results = []
    for i in order:
        try:
            clip = augment.apply(original, job.rows[i], sample_rate=sr)
            result = features.clip_features(
                clip,
                sample_rate=sr,
                duration_s=settings.duration_s,
                params=settings.params,
                tuning=tuning,
            )
            tuning = result.tuning
        except GenreError as err:
            result = str(err)
        results.append((job.positions[i], result))
    return results


def run_jobs(jobs: list[TrackJob], *, settings: Settings, n_jobs: int) -> Iterator[list]:
    """featurize_track over all jobs, in n_jobs processes, yielding results as they finish.

    At most 2 x n_jobs tracks are in flight, so memory stays flat however many tracks there are.
    """
    work = functools.partial(featurize_track, settings=settings)
    if n_jobs == 1:
        with threadpool_limits(limits=1):
            yield from map(work, jobs)
        return
    _warm_up(settings)
    with ProcessPoolExecutor(max_workers=n_jobs, initializer=_single_threaded) as pool:
        pending = set()
        for job in jobs:
            if len(pending) >= 2 * n_jobs:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
            pending.add(pool.submit(work, job))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)


def featurize(
    index: pd.DataFrame,
    manifest: pd.DataFrame,
    *,
    settings: Settings,
    n_jobs: int,
    raw_dir: Path = RAW_DIR,
    out_dir: Path = OUT_DIR,
    metrics_path: Path = METRICS,
) -> dict:
    """Featurize every manifest clip, write the four outputs (all or none); return the metrics."""
    steps, _ = features.window_layout(
        sample_rate=settings.sample_rate, duration_s=settings.duration_s, params=settings.params
    )
    jobs = track_jobs(index, manifest, raw_dir=raw_dir)
    n_jobs = min(n_jobs or os.cpu_count() or 1, len(jobs))
    outputs = {
        "sequences": out_dir / "sequences.npy",
        "summary": out_dir / "summary.parquet",
        "skipped": out_dir / "skipped.csv",
        "metrics": metrics_path,
    }
    with contextlib.ExitStack() as stack:
        tmp = {name: stack.enter_context(atomic_path(path)) for name, path in outputs.items()}
        summary, reasons = collect(
            jobs, n_clips=len(manifest), settings=settings, n_jobs=n_jobs, into=tmp["sequences"]
        )
        if len(reasons) == len(manifest):
            raise GenreError(f"no clip could be featurized; the first failure: {reasons[0]}")
        kept = manifest.drop(index=manifest.index[list(reasons)])
        table = kept[ID_COLUMNS].reset_index(drop=True).astype(str)
        values = pd.DataFrame(summary, columns=list(features.FEATURE_NAMES))
        pd.concat([table, values], axis=1).to_parquet(tmp["summary"], index=False)
        skipped = manifest.iloc[list(reasons)][["clip_id", "track_id"]]
        skipped = skipped.assign(reason=list(reasons.values()))
        write_csv(skipped, tmp["skipped"])
        metrics = {
            "clips": len(kept),
            "skipped": len(reasons),
            "tracks": int(kept["track_id"].nunique()),
            "steps": steps,
            "features": len(features.FEATURE_NAMES),
        }
        write_json(metrics, tmp["metrics"])
    _print_skipped(skipped, listed=outputs["skipped"])
    return metrics


def collect(
    jobs: list[TrackJob], *, n_clips: int, settings: Settings, n_jobs: int, into: Path
) -> tuple[np.ndarray, dict[int, str]]:
    """Run the jobs, storing each clip's sequence at its manifest row of a .npy memory map at
    `into` as results arrive, then dropping the skipped rows there. Returns the kept clips'
    summaries and {row: reason} for the skipped, both in manifest order."""
    n, width = n_clips, len(features.FEATURE_NAMES)
    steps, _ = features.window_layout(
        sample_rate=settings.sample_rate, duration_s=settings.duration_s, params=settings.params
    )
    summary = np.zeros((n, width), dtype=np.float32)
    sequences = np.lib.format.open_memmap(
        into, mode="w+", dtype=np.float32, shape=(n, steps, width)
    )
    reasons = {}
    with tqdm(total=n, desc="featurize", unit="clip", disable=None) as bar:
        for results in run_jobs(jobs, settings=settings, n_jobs=n_jobs):
            for row, result in results:
                if isinstance(result, features.ClipFeatures):
                    summary[row], sequences[row] = result.summary, result.sequence
                else:
                    reasons[row] = result
            bar.update(len(results))
    kept = np.setdiff1d(np.arange(n), list(reasons))
    _compact(sequences, kept, path=into)
    return summary[kept], dict(sorted(reasons.items()))


def _compact(sequences: np.ndarray, kept: np.ndarray, *, path: Path, chunk: int = 512) -> None:
    """Drop skipped rows from the memory-mapped sequences at path, chunk by chunk."""
    if kept.size == len(sequences):
        sequences.flush()
        return
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=sequences.dtype, shape=(kept.size, *sequences.shape[1:])
        )
        for start in range(0, kept.size, chunk):
            out[start : start + chunk] = sequences[kept[start : start + chunk]]
        out.flush()


def _print_skipped(skipped: pd.DataFrame, *, listed: Path) -> None:
    for row in skipped.head(SHOWN_SKIPS).itertuples():
        print(f"skipped {row.clip_id}: {row.reason}", file=sys.stderr)
    if len(skipped) > SHOWN_SKIPS:
        print(f"... and {len(skipped) - SHOWN_SKIPS} more: see {listed}", file=sys.stderr)


def _warm_up(settings: Settings) -> None:
    """Load librosa's lazily imported modules and compile its numba code here, once, so the
    forked workers inherit them instead of each spending seconds on it."""
    size = features.clip_samples(sample_rate=settings.sample_rate, duration_s=settings.duration_s)
    silence = np.zeros(size, dtype=np.float32)
    stretch = {"clip_id": "warm-up", "transform": "stretch", "stretch_rate": 1.1}
    clip = augment.apply(silence, stretch, sample_rate=settings.sample_rate)
    features.clip_features(
        clip, sample_rate=settings.sample_rate, duration_s=settings.duration_s,
        params=settings.params,
    )  # fmt: skip


_LIMITS = None  # the worker's thread limits, kept alive for the process's life


def _single_threaded() -> None:
    """Worker initializer: one BLAS thread per process (n_jobs processes share the cores)."""
    global _LIMITS
    _LIMITS = threadpool_limits(limits=1)


def main() -> None:
    featurize_params = params.load("featurize")
    data = params.load("data")
    settings = Settings(data.sample_rate, data.duration_s, featurize_params)
    index = read_csv(INDEX, columns=["track_id", "genre", "path"], made_by="download")
    manifest = read_csv(MANIFEST, columns=augment.COLUMNS, made_by="augment")
    metrics = featurize(index, manifest, settings=settings, n_jobs=featurize_params.n_jobs)
    print(
        f"featurize: {metrics['clips']} clips of {metrics['tracks']} tracks -> {OUT_DIR} "
        f"({metrics['steps']} steps x {metrics['features']} features), "
        f"{metrics['skipped']} skipped"
    )


if __name__ == "__main__":
    run_cli(main)
