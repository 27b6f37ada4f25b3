"""Data augmentation: the manifest (which variants of each track to make) and making one.

The augment stage only plans, one manifest row per clip; featurize makes each clip in memory
where its features are computed, and `genre listen` renders it as audio (`apply`). Noise and
shift are made as audio, a time stretch from the track's frames (docs/features.md says why).
"""

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from genre.audio import fit_length
from genre.errors import GenreError
from genre.features import spectral
from genre.files import check_ids
from genre.params import AugmentParams
from genre.paths import INDEX

TRANSFORMS = ("noise", "shift", "stretch")
COLUMNS = [
    "clip_id",
    "track_id",
    "genre",
    "transform",
    "snr_db",
    "shift_s",
    "stretch_rate",
    "seed",
]
ORIGINAL_SUFFIX = "orig"


def clip_count(n_tracks: int, factor: float) -> int:
    """Clips made from n_tracks, originals included: n_tracks x factor rounded half up."""
    return int(np.floor(n_tracks * factor + 0.5))


def build_manifest(index: pd.DataFrame, *, params: AugmentParams) -> pd.DataFrame:
    """One row per clip: each track's original, then its extra clips (see the module doc).

    Extras are spread evenly: every track gets floor(extra / N) of them and the remainder goes
    to tracks taken round-robin over genres (shuffled with the seed), so genres stay balanced;
    transforms follow one round-robin over all extras, so each track and the whole set hold
    the three about equally. Everything is drawn from params.seed; each clip also gets its own
    seed (for its noise realisation), so a row reproduces its clip on its own.
    """
    _check_index(index)
    plan_seq, clip_seq = np.random.SeedSequence(params.seed).spawn(2)
    rng = np.random.default_rng(plan_seq)
    extras = _extras_per_track(index["genre"].to_numpy(), params.factor, rng)

    rows, turn = [], 0
    for track_id, genre, n_extra in zip(index["track_id"], index["genre"], extras, strict=True):
        rows.append((f"{track_id}.{ORIGINAL_SUFFIX}", track_id, genre, "original"))
        made = dict.fromkeys(TRANSFORMS, 0)
        for _ in range(n_extra):
            transform = TRANSFORMS[turn % len(TRANSFORMS)]
            turn += 1
            made[transform] += 1
            rows.append((f"{track_id}.{transform}{made[transform]}", track_id, genre, transform))
    manifest = pd.DataFrame(rows, columns=COLUMNS[:4])

    n = len(manifest)
    kind = manifest["transform"].to_numpy()
    lo, hi = params.stretch_rates
    draws = {
        "snr_db": np.round(rng.uniform(*params.noise_snr_db, size=n), 3),
        "shift_s": np.round(rng.uniform(-params.shift_max_s, params.shift_max_s, size=n), 4),
        # log-uniform: a squeeze by r is as likely as a stretch by 1/r
        "stretch_rate": np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), size=n)), 4),
    }
    for (column, values), transform in zip(draws.items(), TRANSFORMS, strict=True):
        manifest[column] = np.where(kind == transform, values, np.nan)
    # 63-bit seeds: fit a signed int64 CSV column, collisions practically impossible
    manifest["seed"] = (clip_seq.generate_state(n, dtype=np.uint64) >> np.uint64(1)).astype(
        np.int64
    )
    return manifest


def apply(samples: np.ndarray, row: Mapping, *, sample_rate: int) -> np.ndarray:
    """Render the clip a manifest row describes from its track's samples (float32, same length)."""
    samples = np.asarray(samples, dtype=np.float32)
    transform = row["transform"]
    if transform == "original" or samples.size == 0:
        return samples.copy()
    if transform == "noise":
        rng = np.random.default_rng(int(_param(row, "seed")))
        out = add_noise(samples, snr_db=_param(row, "snr_db"), rng=rng)
    elif transform == "shift":
        out = shift(samples, shift_s=_param(row, "shift_s"), sample_rate=sample_rate)
    elif transform == "stretch":
        out = stretch(samples, rate=_param(row, "stretch_rate"))
    else:
        raise GenreError(
            f"clip {row.get('clip_id', '?')}: unknown transform {transform!r} (known: original, "
            f"{', '.join(TRANSFORMS)}): run `dvc repro augment`"
        )
    return fit_length(out, samples.size).astype(np.float32, copy=False)


def add_noise(samples: np.ndarray, *, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise with power P_signal / 10**(snr_db/10); silence stays silent.

    The noise is drawn in float32 (the clip's precision; twice as fast as float64)."""
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    if power == 0.0:
        return samples.copy()
    noise = rng.standard_normal(samples.size, dtype=np.float32)
    noise *= np.float32(np.sqrt(power / 10.0 ** (snr_db / 10.0)))
    return samples + noise


def shift(samples: np.ndarray, *, shift_s: float, sample_rate: int) -> np.ndarray:
    """Circular shift by round(shift_s * sample_rate) samples (np.roll; positive = later)."""
    return np.roll(samples, round(shift_s * sample_rate))


def stretch(samples: np.ndarray, *, rate: float) -> np.ndarray:
    """Time-stretch without changing pitch (rate > 1 faster/shorter); length fitted back."""
    return spectral.time_stretch(samples, rate=rate, size=samples.size)


def stretch_frames(magnitude: np.ndarray, zcr: np.ndarray, row: Mapping):
    """The stretched clip a manifest row describes, made from its track's frames: the
    magnitude spectrogram [frames, bins] and zero-crossing rate [frames] of the stretch, as the
    phase vocoder makes them (spectral.stretched_frames), with the track's frame count.
    The ZCR is interpolated like the magnitudes: a pitch-keeping stretch keeps each frame's
    crossing rate and moves it to t x rate."""
    if row["transform"] != "stretch":
        raise GenreError(f"clip {row.get('clip_id', '?')}: only a stretch is made from frames")
    rate, frames = _param(row, "stretch_rate"), magnitude.shape[0]
    return (
        spectral.stretched_frames(magnitude, rate=rate, frames=frames),
        spectral.stretched_frames(zcr, rate=rate, frames=frames),
    )


def _param(row: Mapping, column: str) -> float:
    value = row.get(column)
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value):
        raise GenreError(
            f"clip {row.get('clip_id', '?')}: manifest row lacks {column} for transform "
            f"{row['transform']}: run `dvc repro augment`"
        )
    return value


def _check_index(index: pd.DataFrame) -> None:
    check_ids(index, path=INDEX, column="track_id", what="track", made_by="download")
    if index["genre"].isna().any():
        raise GenreError(f"{INDEX} has rows without genre: run `dvc repro download`")


def _extras_per_track(genres: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """How many extra clips each track gets: floor(extra/N), +1 for a genre-balanced few."""
    n = len(genres)
    extra = clip_count(n, factor) - n
    counts = np.full(n, extra // n, dtype=int)
    remainder = extra % n
    if remainder:
        per_genre = [
            rng.permutation(np.flatnonzero(genres == g)) for g in rng.permutation(np.unique(genres))
        ]
        round_robin = [
            i for group in itertools.zip_longest(*per_genre) for i in group if i is not None
        ]
        counts[round_robin[:remainder]] += 1
    return counts
