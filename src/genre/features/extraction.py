"""Featurizing many clips: one job per track, run on local processes or a Dask cluster.

A track is decoded once; all its clips are made from it in memory (genre.features.augment) and
share its chroma tuning, a property of the recording (`shared_tuning`; `genre predict` follows
the same rule). Output is bitwise identical whatever runs the jobs (docs/reproducibility.md).
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import ThreadpoolController
from tqdm import tqdm

from genre import audio, kernels
from genre.audio import fit_length
from genre.errors import GenreError
from genre.features import augment, handcrafted, representation
from genre.features.layout import FeatureSettings
from genre.files import atomic_path
from genre.params import FeaturizeParams
from genre.paths import INDEX, MANIFEST

N_JOBS_ENV = "GENRE_N_JOBS"  # worker processes on this machine (default: all cores)
DASK_ENV = "GENRE_DASK_SCHEDULER"  # e.g. tcp://10.0.0.5:8786: run the jobs on that cluster
DASK_TIMEOUT_S = 30  # to connect to the scheduler


@dataclass(frozen=True)
class TrackJob:
    path: Path  # the track's audio file, as the user knows it (named in skip reasons)
    source: Path  # the same file as an absolute path (read by a worker, whatever its folder)
    positions: tuple[int, ...]  # manifest rows of its clips
    rows: tuple[dict, ...]  # those rows, as genre.features.augment.apply takes them


ClipResult = tuple[int, "handcrafted.ClipFeatures | str"]  # (manifest row, features or why not)


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


def shared_tuning(
    samples: np.ndarray,
    *,
    n_clips: int,
    size: int,
    params: FeaturizeParams,
    sample_rate: int,
    magnitude=None,
) -> float:
    """The chroma tuning every clip cut from one recording uses: estimated once, on the
    n_clips x size samples those clips cover (cropped or zero-padded like them); magnitude:
    their |genre.features.spectral.stft|, when computed already."""
    covered = fit_length(samples, n_clips * size)
    return handcrafted.estimate_tuning(
        covered, sample_rate=sample_rate, params=params, magnitude=magnitude
    )


def featurize_track(job: TrackJob, *, settings: FeatureSettings) -> list[ClipResult]:
    """(manifest row, ClipFeatures or why it was skipped) for each clip of one track."""
    kernels.check_held(what="featurize")  # e.g. a Dask worker started without its variables
    sr, size = settings.sample_rate, settings.clip_samples
    try:
        decoded = audio.read(job.source, sample_rate=sr).samples
        original = fit_length(
            handcrafted.check_samples(decoded, n_fft=settings.featurize.n_fft), size
        )
    except GenreError as err:
        message = str(err).replace(str(job.source), str(job.path))
        reason = message if str(job.path) in message else f"{job.path}: {message}"
        return [(position, reason) for position in job.positions]
    with _one_blas_thread():
        track = _HandcraftedTrack(original, settings) if settings.handcrafted else None
        results = []
        for position, row in zip(job.positions, job.rows, strict=True):
            try:
                result = _clip_features(original, row, track=track, settings=settings)
            except GenreError as err:
                result = str(err)
            results.append((position, result))
    return results


class _HandcraftedTrack:
    """A track's frames, computed once: its original clip's features, the track's chroma
    tuning, and its stretches, which are made from them (augment.stretch_frames)."""

    def __init__(self, original: np.ndarray, settings: FeatureSettings):
        p = settings.featurize
        self.magnitude, self.zcr = handcrafted.clip_frames(original, params=p)
        tuning = shared_tuning(
            original,
            n_clips=1,
            size=settings.clip_samples,
            params=p,
            sample_rate=settings.sample_rate,
            magnitude=self.magnitude,
        )
        self.clip = {
            "sample_rate": settings.sample_rate,
            "duration_s": settings.duration_s,
            "params": p,
            "tuning": tuning,
        }

    def features(self, original: np.ndarray, row: dict) -> "handcrafted.ClipFeatures":
        if row["transform"] == "original":
            return handcrafted.frames_clip_features(self.magnitude, zcr=self.zcr, **self.clip)
        if row["transform"] == "stretch":
            stretched, zcr = augment.stretch_frames(self.magnitude, self.zcr, row)
            return handcrafted.frames_clip_features(stretched, zcr=zcr, **self.clip)
        audio_ = augment.apply(original, row, sample_rate=self.clip["sample_rate"])
        return handcrafted.clip_features(audio_, **self.clip)


def _clip_features(original, row, *, track: _HandcraftedTrack | None, settings: FeatureSettings):
    """One manifest clip's features under the settings' representation."""
    hand = track.features(original, row) if track is not None else None
    if not settings.embedded:
        return hand
    clip = original if row["transform"] == "original" else None
    if clip is None:
        clip = augment.apply(original, row, sample_rate=settings.sample_rate)
    embedded = representation.embedding(clip, settings=settings)
    return embedded if hand is None else representation.combined(hand, embedded, settings=settings)


def song_features(samples: np.ndarray, *, settings: FeatureSettings):
    """Summary [n, dims] and sequence [n, steps, dims] features of a song's n windows (see
    split_windows), as featurize computes a clip's: the handcrafted ones with the song's
    shared_tuning, the embedding of each window zero-padded to a clip."""
    windows = split_windows(samples, size=settings.clip_samples)
    with _one_blas_thread():
        hand = (
            _song_handcrafted(samples, windows, settings=settings) if settings.handcrafted else None
        )
        clips = hand
        if settings.embedded:
            embedded = [representation.embedding(w, settings=settings) for w in windows]
            clips = (
                embedded
                if hand is None
                else [
                    representation.combined(h, e, settings=settings)
                    for h, e in zip(hand, embedded, strict=True)
                ]
            )
    return np.stack([c.summary for c in clips]), np.stack([c.sequence for c in clips])


def _song_handcrafted(samples, windows, *, settings: FeatureSettings):
    size, params = settings.clip_samples, settings.featurize
    tuning = shared_tuning(
        samples, n_clips=len(windows), size=size, params=params, sample_rate=settings.sample_rate
    )
    return [
        handcrafted.clip_features(
            window,
            sample_rate=settings.sample_rate,
            duration_s=settings.duration_s,
            params=params,
            tuning=tuning,
        )
        for window in windows
    ]


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


def run_jobs(
    jobs: list[TrackJob], *, settings: FeatureSettings, n_jobs: int
) -> Iterator[list[ClipResult]]:
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


def collect(
    jobs: list[TrackJob], *, n_clips: int, settings: FeatureSettings, n_jobs: int, into: Path
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Run the jobs, storing each clip's sequence at its manifest row of a .npy memory map at
    `into` as results arrive, then dropping the skipped rows there. Returns every row's summary
    (a memory map in the temporary folder: memory does not grow with the data), the kept rows
    and {row: reason} for the skipped, in manifest order."""
    width = len(settings.names)
    with tempfile.NamedTemporaryFile(prefix="genre-summary-", suffix=".npy") as f:
        summary = np.lib.format.open_memmap(
            f.name, mode="w+", dtype=np.float32, shape=(n_clips, width)
        )  # its file is removed at once: it lives while this process maps it
    sequences = np.lib.format.open_memmap(
        into, mode="w+", dtype=np.float32, shape=(n_clips, settings.steps, width)
    )
    reasons = {}
    with tqdm(total=n_clips, desc="featurize", unit="clip", disable=None) as bar:
        for results in run_jobs(jobs, settings=settings, n_jobs=n_jobs):
            for row, result in results:
                if isinstance(result, handcrafted.ClipFeatures):
                    summary[row], sequences[row] = result.summary, result.sequence
                else:
                    reasons[row] = result
            bar.update(len(results))
    kept = np.setdiff1d(np.arange(n_clips), list(reasons))
    _compact(sequences, kept, path=into)
    return summary, kept, dict(sorted(reasons.items()))


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
