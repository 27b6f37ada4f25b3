"""Featurizing many clips: the work plan, the per-recording tuning policy, and running it.

One job per TRACK: it is decoded once and cropped/zero-padded to data.duration_s (its original
clip), and every clip of the track is made from that in memory: noise and shift as audio
(genre.augment.apply), a stretch from the original's frames (genre.augment.stretch_frames).
The chroma tuning is a property of the RECORDING, not of a clip: it is estimated once, on the
audio the clips are cut from (`shared_tuning`), and used for all of them, so a stretched or
noisy variant's chroma uses its track's tuning, not one re-estimated on the variant, and
`genre predict` (which cuts a song into windows, `song_features`) follows the same rule: for a
one-window song its features are the featurize stage's bit for bit.

The jobs run through joblib: local worker processes (loky) by default, GENRE_N_JOBS of them (all
cores when unset), or the workers of a Dask cluster when GENRE_DASK_SCHEDULER holds a scheduler
address (joblib's dask backend). Neither is a param: the output is bitwise identical whatever
runs it, because every job runs its BLAS single-threaded and each clip's result is stored at its
manifest row of a memory-mapped array (`collect`), in whatever order the jobs finish.
"""

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import ThreadpoolController
from tqdm import tqdm

from genre import audio, augment, features, kernels
from genre.audio import fit_length
from genre.errors import GenreError
from genre.files import atomic_path
from genre.params import FeaturizeParams
from genre.paths import INDEX, MANIFEST

N_JOBS_ENV = "GENRE_N_JOBS"  # worker processes on this machine (default: all cores)
DASK_ENV = "GENRE_DASK_SCHEDULER"  # e.g. tcp://10.0.0.5:8786: run the jobs on that cluster
DASK_TIMEOUT_S = 30  # to connect to the scheduler


@dataclass(frozen=True)
class Settings:
    sample_rate: int
    duration_s: float
    params: FeaturizeParams


@dataclass(frozen=True)
class TrackJob:
    path: Path  # the track's audio file, as the user knows it (named in skip reasons)
    source: Path  # the same file as an absolute path (read by a worker, whatever its folder)
    positions: tuple[int, ...]  # manifest rows of its clips
    rows: tuple[dict, ...]  # those rows, as genre.augment.apply takes them


Result = tuple[int, "features.ClipFeatures | str"]  # (manifest row, features or skip reason)


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
            path=Path(raw_dir) / paths[track],
            source=(Path(raw_dir) / paths[track]).absolute(),
            positions=tuple(int(i) for i in rows_of[track]),
            rows=tuple(records[i] for i in rows_of[track]),
        )
        for track in manifest["track_id"].unique()
    ]


def shared_tuning(samples: np.ndarray, *, n_clips: int, size: int, params: FeaturizeParams,
                  sample_rate: int, magnitude=None) -> float:  # fmt: skip
    """The chroma tuning every clip cut from one recording uses: estimated once, on the
    n_clips x size samples those clips cover (cropped or zero-padded like them); magnitude:
    their |genre.spectral.stft|, when computed already."""
    covered = fit_length(samples, n_clips * size)
    return features.estimate_tuning(
        covered, sample_rate=sample_rate, params=params, magnitude=magnitude
    )


def featurize_track(job: TrackJob, *, settings: Settings) -> list[Result]:
    """(manifest row, ClipFeatures or why it was skipped) for each clip of one track."""
    kernels.check_held(what="featurize")  # e.g. a Dask worker started without its variables
    sr, p = settings.sample_rate, settings.params
    size = features.clip_samples(sample_rate=sr, duration_s=settings.duration_s)
    try:
        decoded = audio.read(job.source, sample_rate=sr).samples
        original = fit_length(features.check_samples(decoded, n_fft=p.n_fft), size)
    except GenreError as err:
        message = str(err).replace(str(job.source), str(job.path))
        reason = message if str(job.path) in message else f"{job.path}: {message}"
        return [(position, reason) for position in job.positions]
    with _one_blas_thread():
        # the original's frames, computed once: its features, the track's tuning, and the
        # stretches, which are made from them (genre.augment.stretch_frames)
        magnitude, zcr = features.clip_frames(original, params=p)
        tuning = shared_tuning(
            original, n_clips=1, size=size, params=p, sample_rate=sr, magnitude=magnitude
        )
        clip = {"sample_rate": sr, "duration_s": settings.duration_s, "params": p, "tuning": tuning}
        results = []
        for position, row in zip(job.positions, job.rows, strict=True):
            try:
                if row["transform"] == "original":
                    result = features.frames_clip_features(magnitude, zcr=zcr, **clip)
                elif row["transform"] == "stretch":
                    stretched, stretched_zcr = augment.stretch_frames(magnitude, zcr, row)
                    result = features.frames_clip_features(stretched, zcr=stretched_zcr, **clip)
                else:
                    result = features.clip_features(
                        augment.apply(original, row, sample_rate=sr), **clip
                    )
            except GenreError as err:
                result = str(err)
            results.append((position, result))
    return results


def song_features(samples: np.ndarray, *, sample_rate: int, duration_s: float, params):
    """Summary [n, 44] and sequence [n, steps, 44] features of a song's n windows (see
    split_windows), each by genre.features.clip_features with the song's shared_tuning."""
    size = features.clip_samples(sample_rate=sample_rate, duration_s=duration_s)
    windows = split_windows(samples, size=size)
    with _one_blas_thread():
        tuning = shared_tuning(
            samples, n_clips=len(windows), size=size, params=params, sample_rate=sample_rate
        )
        clips = [
            features.clip_features(
                window,
                sample_rate=sample_rate,
                duration_s=duration_s,
                params=params,
                tuning=tuning,
            )  # fmt: skip
            for window in windows
        ]
    return np.stack([c.summary for c in clips]), np.stack([c.sequence for c in clips])


def split_windows(samples: np.ndarray, *, size: int) -> list[np.ndarray]:
    """Consecutive windows of `size` samples. The final partial window is kept when it holds
    at least half a window, else dropped; audio shorter than a window is one (short) window."""
    windows = [samples[start : start + size] for start in range(0, len(samples), size)]
    if len(windows) > 1 and 2 * len(windows[-1]) < size:
        windows.pop()
    return windows


def worker_count(environ=os.environ) -> int:
    """GENRE_N_JOBS (a whole number >= 1), or all cores when it is unset or empty."""
    value = environ.get(N_JOBS_ENV, "").strip()
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise GenreError(
            f"{N_JOBS_ENV}={value!r}: must be a whole number of processes >= 1: "
            f"set it so (e.g. {N_JOBS_ENV}=2) or unset it to use all cores"
        )
    return int(value)


def run_jobs(jobs: list[TrackJob], *, settings: Settings, n_jobs: int) -> Iterator[list[Result]]:
    """featurize_track over all jobs, yielding each track's results as it finishes.

    On n_jobs local processes, or on the Dask cluster GENRE_DASK_SCHEDULER names. Jobs are
    taken from `jobs` lazily, one track per task, at most 2 x n_jobs of them dispatched and not
    finished (joblib's pre_dispatch), and each result is stored as soon as it arrives, so memory
    stays flat however many tracks there are.
    """
    tasks = (delayed(featurize_track)(job, settings=settings) for job in jobs)
    with _backend(n_jobs) as workers:
        parallel = Parallel(
            n_jobs=workers,
            return_as="generator_unordered",
            pre_dispatch="2*n_jobs",
            batch_size=1,
        )
        yield from parallel(tasks)


def steps(settings: Settings) -> int:
    """Windows per clip in the sequences (GenreError when the settings leave none)."""
    count, _ = features.window_layout(
        sample_rate=settings.sample_rate, duration_s=settings.duration_s, params=settings.params
    )
    return count


def collect(jobs: list[TrackJob], *, n_clips: int, settings: Settings, n_jobs: int,
            into: Path) -> tuple[np.ndarray, dict[int, str]]:  # fmt: skip
    """Run the jobs, storing each clip's sequence at its manifest row of a .npy memory map at
    `into` as results arrive, then dropping the skipped rows there. Returns the kept clips'
    summaries and {row: reason} for the skipped, both in manifest order."""
    width = len(features.FEATURE_NAMES)
    summary = np.zeros((n_clips, width), dtype=np.float32)
    sequences = np.lib.format.open_memmap(
        into, mode="w+", dtype=np.float32, shape=(n_clips, steps(settings), width)
    )
    reasons = {}
    with tqdm(total=n_clips, desc="featurize", unit="clip", disable=None) as bar:
        for results in run_jobs(jobs, settings=settings, n_jobs=n_jobs):
            for row, result in results:
                if isinstance(result, features.ClipFeatures):
                    summary[row], sequences[row] = result.summary, result.sequence
                else:
                    reasons[row] = result
            bar.update(len(results))
    kept = np.setdiff1d(np.arange(n_clips), list(reasons))
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


@contextlib.contextmanager
def _backend(n_jobs: int) -> Iterator[int]:
    """joblib's backend for the jobs: the Dask cluster at GENRE_DASK_SCHEDULER, else loky with
    n_jobs processes (their BLAS and OpenMP pools at one thread). Yields Parallel's n_jobs."""
    address = os.environ.get(DASK_ENV, "").strip()
    if not address:
        with parallel_config(backend="loky", inner_max_num_threads=1):
            yield n_jobs
        return
    from distributed import Client

    try:
        client = Client(address, timeout=DASK_TIMEOUT_S)
    except (OSError, ValueError) as err:
        raise GenreError(
            f"{DASK_ENV}={address}: cannot reach a Dask scheduler there ({err}): start one "
            f"(`dask scheduler`) or unset {DASK_ENV} to run on this machine"
        ) from None
    with client, parallel_config(backend="dask"):
        yield -1  # every worker of the cluster


_CONTROLLER = None


def _one_blas_thread():
    """BLAS at one thread for the block: the last bit of a product can depend on the thread
    count, and the features must not depend on where they are computed."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")
