"""What the features are, without computing them: their names, the settings they are computed
with, and how a clip's frames fall into the sequence's windows. Apart from the code that
computes them, so what only describes or checks features (model descriptions, the train
stages) does not load librosa (2 s per process).
"""

import math
from dataclasses import dataclass

import numpy as np

from genre.errors import GenreError
from genre.params import FeaturizeParams

_SCALARS = ("zcr", "spectral_centroid", "spectral_rolloff", "chroma", "spectral_bandwidth")
FEATURE_NAMES = (
    *(f"mfcc_{i:02d}_mean" for i in range(1, 14)),
    *(f"mfcc_delta_{i:02d}_std" for i in range(1, 14)),
    *(f"mfcc_delta2_{i:02d}_std" for i in range(1, 14)),
    *(f"{name}_mean" for name in _SCALARS),
)
STD_ROWS = slice(13, 39)  # delta and delta-delta: standard deviation; the rest: mean

# musicnn's input (genre.features.musicnn): 2.992 s patches of 187 log-mel frames at 16 kHz
MUSICNN_RATE = 16000
MUSICNN_HOP = 256
PATCH_FRAMES = 187
PATCH_SECONDS = PATCH_FRAMES * MUSICNN_HOP / MUSICNN_RATE
# The 753 feature maps its back end pools, in the network's order: the front end's (timbral
# 7x38 and 7x67, temporal 128, 64 and 32 frames) and the mid end's three layers.
FEATURE_MAPS = (
    ("timbral_7x38", 204),
    ("timbral_7x67", 204),
    ("temporal_128", 51),
    ("temporal_64", 51),
    ("temporal_32", 51),
    ("midend_1", 64),
    ("midend_2", 64),
    ("midend_3", 64),
)
EMBEDDING_NAMES = tuple(
    f"{stat}_{block}_{i:03d}"
    for stat in ("max", "mean")
    for block, size in FEATURE_MAPS
    for i in range(size)
)
NAMES = {  # featurize.representation -> the features, in order
    "handcrafted": FEATURE_NAMES,
    "musicnn": EMBEDDING_NAMES,
    "both": FEATURE_NAMES + EMBEDDING_NAMES,
}


@dataclass(frozen=True)
class FeatureSettings:
    """What computing a clip's features takes: its sample rate and length (data.sample_rate,
    data.duration_s) and the featurize params."""

    sample_rate: int
    duration_s: float
    featurize: FeaturizeParams

    @property
    def clip_samples(self) -> int:
        return clip_samples(sample_rate=self.sample_rate, duration_s=self.duration_s)

    @property
    def names(self) -> tuple[str, ...]:
        """The features of featurize.representation, in order."""
        return NAMES[self.featurize.representation]

    @property
    def handcrafted(self) -> bool:
        return self.featurize.representation in ("handcrafted", "both")

    @property
    def embedded(self) -> bool:
        return self.featurize.representation in ("musicnn", "both")

    @property
    def steps(self) -> int:
        """Steps per clip in a sequence: 0.5 s windows of the handcrafted features, or musicnn's
        patches (GenreError when the settings leave none)."""
        if self.embedded:
            return patch_count(n_samples=self.clip_samples, sample_rate=self.sample_rate)
        steps, _ = window_layout(
            sample_rate=self.sample_rate, duration_s=self.duration_s, params=self.featurize
        )
        return steps

    def input_shape(self, *, sequences: bool) -> tuple[int, ...]:
        """What a model takes per clip: (features,) or, `sequences`, (steps, features)."""
        return (self.steps, len(self.names)) if sequences else (len(self.names),)


def patch_count(*, n_samples: int, sample_rate: int) -> int:
    """The patches musicnn cuts a clip of n_samples at sample_rate into: its whole patches of
    centred frames at 16 kHz (librosa.resample's length), at least one."""
    resampled = math.ceil(n_samples * MUSICNN_RATE / sample_rate)
    return max(1, (1 + resampled // MUSICNN_HOP) // PATCH_FRAMES)


def clip_samples(*, sample_rate: int, duration_s: float) -> int:
    """Samples in a clip of duration_s seconds."""
    return int(round(duration_s * sample_rate))


def window_layout(*, sample_rate: int, duration_s: float, params: FeaturizeParams):
    """(steps, frames per window) for these settings; GenreError when they leave none."""
    n = clip_samples(sample_rate=sample_rate, duration_s=duration_s)
    steps = int(duration_s / params.window_s)
    per_window = int(params.window_s * sample_rate / params.hop_length + 1e-9)
    if params.n_fft > n:
        raise GenreError(
            f"featurize.n_fft ({params.n_fft}) is longer than a clip of "
            f"data.duration_s ({duration_s} s = {n} samples): lower it"
        )
    if steps < 1:
        raise GenreError(
            f"featurize.window_s ({params.window_s}) is longer than "
            f"data.duration_s ({duration_s}): lower it"
        )
    if per_window < 1:
        raise GenreError(
            f"featurize.window_s ({params.window_s} s) is shorter than one hop "
            f"(featurize.hop_length {params.hop_length} samples): raise it"
        )
    return steps, per_window


def window_starts(*, steps: int, sample_rate: int, params: FeaturizeParams) -> np.ndarray:
    """First frame of each window: the first frame centred at or after k * window_s."""
    window = params.window_s * sample_rate / params.hop_length  # in frames
    return np.ceil(np.arange(steps) * window - 1e-9).astype(np.int64)
