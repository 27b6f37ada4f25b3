"""Checks of an imported data set, before any work is spent on it (stage `download`).

- `suspicious_clips`: clips that decode but are likely faulty, listed (not dropped) so the user
  can look: heavily clipped, silent or nearly so, or far shorter/longer than the set's clips.
- `check_splittable`: refuse a set no genre-stratified split can be made of (fewer than two
  genres, or a genre with a single track), naming the genre and what to change.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from genre.errors import GenreError

SUSPICIOUS_COLUMNS = ["track_id", "path", "reason"]
CLIPPED_SHARE = 0.01  # more than 1 % of the samples at full scale: heavily clipped
SILENT_RMS_DB = -60.0  # an RMS level below this is (nearly) silence, not music
DURATION_TOLERANCE = 0.25  # a clip 25 % shorter or longer than the set's median length
MIN_GENRES = 2
MIN_TRACKS_PER_GENRE = 2  # a genre-stratified split puts at least one on each side
READERS = min(8, os.cpu_count() or 1)  # threads reading clips: decoding lets go of the GIL


def clip_problems(samples: np.ndarray) -> list[str]:
    """What looks wrong in one clip's 16-bit samples (int16, mono), as short phrases.

    Counts and sums in integers, without float copies of the clip: exact, so the same figures
    as mean(|x| >= 32767) and the mean of (x / 32768) ** 2 in floats, also exact below 2**23
    samples (every partial sum is a multiple of 2**-30 below 2**23)."""
    n = len(samples)
    if n == 0:
        return ["holds no samples"]
    problems = []
    clipped = (np.count_nonzero(samples >= 32767) + np.count_nonzero(samples <= -32767)) / n
    if clipped > CLIPPED_SHARE:
        problems.append(f"clipped: {clipped:.1%} of the samples at full scale")
    wide = samples.astype(np.int64)
    rms = math.sqrt(float(np.dot(wide, wide)) / 2**30 / n)
    if rms == 0:
        problems.append("silent: every sample is 0")
    elif 20 * np.log10(rms) < SILENT_RMS_DB:
        problems.append(f"nearly silent: RMS level {20 * np.log10(rms):.0f} dBFS")
    return problems


def suspicious_clips(raw_dir: Path, index: pd.DataFrame) -> pd.DataFrame:
    """One row per suspicious clip of index (track_id, path, seconds under raw_dir)."""
    median = float(index["seconds"].median()) if len(index) else 0.0

    def row(clip) -> tuple[str, str, str] | None:
        samples, _ = sf.read(Path(raw_dir) / clip.path, dtype="int16")
        problems = clip_problems(samples)
        if median > 0 and abs(clip.seconds - median) > DURATION_TOLERANCE * median:
            problems.append(f"{clip.seconds:g} s long, far from the set's median {median:g} s")
        return (clip.track_id, clip.path, "; ".join(problems)) if problems else None

    with ThreadPoolExecutor(READERS) as pool:
        rows = [r for r in pool.map(row, index.itertuples()) if r]
    return pd.DataFrame(rows, columns=SUSPICIOUS_COLUMNS)


def check_splittable(index: pd.DataFrame, *, source: str) -> None:
    """GenreError unless every genre can be on both sides of a genre-stratified split."""
    counts = index["genre"].value_counts()
    fix = (
        "raise data.clips_per_genre"
        if source == "synthetic"
        else "add clips of that genre, or leave it out (data.genres, or remove its folder)"
    )
    if len(counts) < MIN_GENRES:
        only = ", ".join(counts.index) or "none"
        raise GenreError(
            f"data set: only {len(counts)} genre ({only}) in {len(index)} clips: a classifier "
            f"needs at least {MIN_GENRES} genres; add clips of other genres (data.local_path)"
        )
    short = counts[counts < MIN_TRACKS_PER_GENRE]
    if len(short):
        genre = short.index[0]
        raise GenreError(
            f"data set: genre {genre} has only {short.iloc[0]} track, too few for a "
            f"genre-stratified train/test split (split.test_size, train.val_size): it needs at "
            f"least {MIN_TRACKS_PER_GENRE} per genre, about 1/split.test_size for one test track "
            f"each; {fix}"
        )
