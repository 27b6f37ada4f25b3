"""Checks of an imported data set, before any work is spent on it (stage `download`).

- `suspicious_clips`: clips that decode but are likely faulty, listed (not dropped) so the user
  can look: heavily clipped, silent or nearly so, or far shorter/longer than the set's clips.
- `check_splittable`: refuse a set no genre-stratified split can be made of (fewer than two
  genres, or a genre with a single track), naming the genre and what to change.
"""

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


def clip_problems(samples: np.ndarray) -> list[str]:
    """What looks wrong in one clip's 16-bit samples (int16, mono), as short phrases."""
    if len(samples) == 0:
        return ["holds no samples"]
    magnitude = np.abs(samples.astype(np.int32))
    problems = []
    clipped = float(np.mean(magnitude >= 32767))
    if clipped > CLIPPED_SHARE:
        problems.append(f"clipped: {clipped:.1%} of the samples at full scale")
    rms = float(np.sqrt(np.mean((samples / 32768.0) ** 2)))
    if rms == 0:
        problems.append("silent: every sample is 0")
    elif 20 * np.log10(rms) < SILENT_RMS_DB:
        problems.append(f"nearly silent: RMS level {20 * np.log10(rms):.0f} dBFS")
    return problems


def suspicious_clips(raw_dir: Path, index: pd.DataFrame) -> pd.DataFrame:
    """One row per suspicious clip of index (track_id, path, seconds under raw_dir)."""
    rows = []
    median = float(index["seconds"].median()) if len(index) else 0.0
    for clip in index.itertuples():
        samples, _ = sf.read(Path(raw_dir) / clip.path, dtype="int16")
        problems = clip_problems(samples)
        if median > 0 and abs(clip.seconds - median) > DURATION_TOLERANCE * median:
            problems.append(f"{clip.seconds:g} s long, far from the set's median {median:g} s")
        if problems:
            rows.append((clip.track_id, clip.path, "; ".join(problems)))
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
