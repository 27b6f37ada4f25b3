"""The method's 44 clip features, as librosa defines them, from ONE STFT per clip.

Each spectral function takes the audio `y` or a precomputed magnitude spectrogram `S` and
returns what librosa.feature.<same name> returns (tests/test_features.py holds them to it).
A clip is summarised by the mean or standard deviation of each feature over its frames, and
described as a sequence of windows with the same statistics (docs/features.md).
"""

import functools
import warnings
from dataclasses import dataclass

import librosa
import numba
import numpy as np
from librosa.core.pitch import _parabolic_interpolation  # piptrack's own stencil

from genre.audio import fit_length
from genre.errors import GenreError
from genre.features import spectral
from genre.features.layout import (  # noqa: F401 (FEATURE_NAMES and clip_samples: used as features.X)
    FEATURE_NAMES,
    STD_ROWS,
    clip_samples,
    window_layout,
    window_starts,
)
from genre.params import FeaturizeParams

N_MELS = 128
N_CHROMA = 12
ROLL_PERCENT = 0.85
DELTA_WIDTH = 9
SHAPE_LANES = 16  # frames summed side by side in _shape_sums
ZCR_THRESHOLD = np.float32(1e-10)  # librosa.zero_crossings: |x| <= 1e-10 counts as zero
PIPTRACK_FMIN, PIPTRACK_FMAX, PIPTRACK_THRESHOLD = 150.0, 4000.0, 0.1  # librosa's defaults


@dataclass(frozen=True)
class ClipFeatures:
    summary: np.ndarray  # float32 [44], in FEATURE_NAMES order
    sequence: np.ndarray  # float32 [steps, 44], the same statistics per window
    tuning: float = 0.0  # the chroma tuning used (given, or estimated on the clip)


def spectrogram(*, y, n_fft: int, hop_length: int) -> np.ndarray:
    """Magnitude |STFT| (float32 [1 + n_fft // 2, frames]): librosa.stft's defaults, from
    spectral.stft (a view: internally every spectrogram is [frames, bins])."""
    return np.abs(spectral.stft(y, n_fft=n_fft, hop_length=hop_length)).T


def clip_frames(y: np.ndarray, *, params: FeaturizeParams) -> tuple[np.ndarray, np.ndarray]:
    """What the features of float32 samples y are computed from: their magnitude spectrogram
    [frames, bins] (|spectral.stft|) and zero-crossing rate [frames], same framing."""
    magnitude = np.abs(spectral.stft(y, n_fft=params.n_fft, hop_length=params.hop_length))
    zcr = zero_crossing_rate(y=y, frame_length=params.n_fft, hop_length=params.hop_length)
    return magnitude, zcr


def mfcc(*, y=None, S=None, sr: int, n_fft: int, hop_length: int, n_mfcc: int = 13):
    """librosa.feature.mfcc: [n_mfcc, frames]."""
    return _mfcc(_power(y, S, n_fft, hop_length).T, sr=sr, n_fft=n_fft, n_mfcc=n_mfcc)


def zero_crossing_rate(*, y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """librosa.feature.zero_crossing_rate(center=True): [frames], counting sign flips per frame.

    The edge padding repeats the end samples, so it adds no flips: frame j, which covers
    y[j * hop_length - frame_length // 2:][:frame_length], counts the flips inside it.
    """
    negative = y < -ZCR_THRESHOLD  # |x| <= threshold counts as zero, and zero as positive
    flips = np.flatnonzero(negative[1:] != negative[:-1]) + 1  # y[i] differs from y[i - 1]
    half = frame_length // 2
    first = np.arange(1 + (len(y) + 2 * half - frame_length) // hop_length) * hop_length - half
    inside = np.searchsorted(flips, first + frame_length - 1, side="right")
    return (inside - np.searchsorted(flips, first + 1)) / frame_length


def spectral_centroid(*, y=None, S=None, sr: int, n_fft: int, hop_length: int):
    """librosa.feature.spectral_centroid: [frames] (Hz)."""
    return _shape(_magnitude(y, S, n_fft, hop_length).T, sr=sr, n_fft=n_fft, share=ROLL_PERCENT)[0]


def spectral_bandwidth(*, y=None, S=None, sr: int, n_fft: int, hop_length: int):
    """librosa.feature.spectral_bandwidth with p=2: [frames] (Hz)."""
    return _shape(_magnitude(y, S, n_fft, hop_length).T, sr=sr, n_fft=n_fft, share=ROLL_PERCENT)[1]


def spectral_rolloff(
    *, y=None, S=None, sr: int, n_fft: int, hop_length: int, roll_percent: float = ROLL_PERCENT
):
    """librosa.feature.spectral_rolloff: [frames], the lowest bin frequency holding
    roll_percent of the frame's magnitude (the same float32 cumulative sum as librosa)."""
    magnitude = _magnitude(y, S, n_fft, hop_length).T
    return _shape(magnitude, sr=sr, n_fft=n_fft, share=roll_percent)[2]


def chroma(*, y=None, S=None, sr: int, n_fft: int, hop_length: int, tuning: float | None = None):
    """librosa.feature.chroma_stft: [12, frames]; tuning=None estimates it as librosa does."""
    return _chroma(_power(y, S, n_fft, hop_length).T, sr=sr, n_fft=n_fft, tuning=tuning)


def estimate_tuning(
    samples: np.ndarray, *, sample_rate: int, params: FeaturizeParams, magnitude=None
) -> float:
    """The tuning (fraction of a chroma bin) chroma_stft would estimate for these samples;
    magnitude: their |spectral.stft| [frames, bins], when computed already."""
    if magnitude is None:
        y = check_samples(samples, n_fft=params.n_fft)
        magnitude = np.abs(spectral.stft(y, n_fft=params.n_fft, hop_length=params.hop_length))
    return _tuning(magnitude * magnitude, sr=sample_rate)


def frame_features(
    samples: np.ndarray, *, sample_rate: int, params: FeaturizeParams, tuning: float | None = None
) -> np.ndarray:
    """The 44 per-frame values, float64 [44, frames], rows in FEATURE_NAMES order."""
    magnitude, zcr = clip_frames(check_samples(samples, n_fft=params.n_fft), params=params)
    return _frame_features(
        magnitude, zcr=zcr, sample_rate=sample_rate, params=params, tuning=tuning
    )[0]


def clip_features(
    samples: np.ndarray,
    *,
    sample_rate: int,
    duration_s: float,
    params: FeaturizeParams,
    tuning: float | None = None,
) -> ClipFeatures:
    """Summary [44] and sequence [steps, 44] of one clip, cropped/zero-padded to duration_s.

    tuning: chroma's, in fractions of a bin; None estimates it on this clip as librosa does.
    A clip whose frames are at hand already: frames_clip_features.
    """
    window_layout(sample_rate=sample_rate, duration_s=duration_s, params=params)
    y = check_samples(samples, n_fft=params.n_fft)
    y = fit_length(y, clip_samples(sample_rate=sample_rate, duration_s=duration_s))
    magnitude, zcr = clip_frames(y, params=params)
    return frames_clip_features(
        magnitude,
        zcr=zcr,
        sample_rate=sample_rate,
        duration_s=duration_s,
        params=params,
        tuning=tuning,
    )


def frames_clip_features(
    magnitude: np.ndarray,
    *,
    zcr: np.ndarray,
    sample_rate: int,
    duration_s: float,
    params: FeaturizeParams,
    tuning: float | None = None,
) -> ClipFeatures:
    """clip_features of a clip given by its frames (clip_frames: magnitude spectrogram
    [frames, bins] and zero-crossing rate [frames]), as many frames as a clip of duration_s has.
    For clips made in the spectral domain (genre.features.augment.stretch_frames)."""
    steps, per_window = window_layout(sample_rate=sample_rate, duration_s=duration_s, params=params)
    frames, tuning = _frame_features(
        magnitude, zcr=zcr, sample_rate=sample_rate, params=params, tuning=tuning
    )
    starts = window_starts(steps=steps, sample_rate=sample_rate, params=params)
    windows = frames[:, starts[:, None] + np.arange(per_window)]  # [44, steps, per_window]
    summary, sequence = _summarise(frames), _summarise(windows).T
    return ClipFeatures(summary.astype(np.float32), sequence.astype(np.float32), tuning)


def _summarise(values: np.ndarray) -> np.ndarray:
    """Mean (std for delta rows) over the last axis of [44, ..., frames] float64 values."""
    out = values.mean(axis=-1)
    out[STD_ROWS] = values[STD_ROWS].std(axis=-1)
    return out


def _frame_features(
    S: np.ndarray, *, zcr: np.ndarray, sample_rate: int, params: FeaturizeParams, tuning
):
    """frame_features of a magnitude spectrogram S [frames, bins] and its frames' ZCR, and the
    tuning its chroma used."""
    sr, n_fft = sample_rate, params.n_fft
    if S.shape[0] < DELTA_WIDTH:
        raise GenreError(
            f"a clip of {S.shape[0]} frames is too short: deltas need {DELTA_WIDTH}; lower "
            "featurize.hop_length or use longer clips"
        )
    P = S * S
    tuning = _tuning(P, sr=sr) if tuning is None else float(tuning)
    coeffs = _mfcc(P, sr=sr, n_fft=n_fft, n_mfcc=params.n_mfcc)
    centroid, bandwidth, rolloff = _shape(S, sr=sr, n_fft=n_fft, share=ROLL_PERCENT)
    frames = np.vstack(
        [
            coeffs,
            librosa.feature.delta(coeffs, width=DELTA_WIDTH, order=1),
            librosa.feature.delta(coeffs, width=DELTA_WIDTH, order=2),
            zcr,
            centroid,
            rolloff,
            _chroma(P, sr=sr, n_fft=n_fft, tuning=tuning).mean(axis=0, dtype=np.float64),
            bandwidth,
        ],
        dtype=np.float64,
    )
    return frames, tuning


def check_samples(samples: np.ndarray, *, n_fft: int) -> np.ndarray:
    """Mono float32 samples, or a GenreError saying what is wrong with them."""
    y = np.asarray(samples)
    if y.ndim != 1:
        raise GenreError(f"audio must be mono (one channel), got an array of shape {y.shape}")
    if y.size == 0:
        raise GenreError("audio holds no samples")
    if y.size < n_fft:
        raise GenreError(
            f"audio of {y.size} samples is shorter than one frame "
            f"(featurize.n_fft = {n_fft} samples)"
        )
    y = np.ascontiguousarray(y, dtype=np.float32)
    if not np.isfinite(y).all():
        raise GenreError("audio holds non-finite samples (NaN or infinity): corrupt audio")
    return y


def _magnitude(y, S, n_fft: int, hop_length: int) -> np.ndarray:
    if S is not None:
        return S
    if y is None:
        raise GenreError("give the audio y or its magnitude spectrogram S")
    return spectrogram(y=check_samples(y, n_fft=n_fft), n_fft=n_fft, hop_length=hop_length)


def _power(y, S, n_fft: int, hop_length: int) -> np.ndarray:
    S = _magnitude(y, S, n_fft, hop_length)
    return S * S


def _mfcc(P: np.ndarray, *, sr: int, n_fft: int, n_mfcc: int) -> np.ndarray:
    """MFCC [n_mfcc, frames] of a power spectrogram P [frames, bins]."""
    mel = np.zeros((P.shape[0], N_MELS), dtype=P.dtype)
    for rows, lo, hi, weights in _mel_bands(sr, n_fft):
        mel[:, rows] = P[:, lo:hi] @ weights
    return librosa.feature.mfcc(S=librosa.power_to_db(mel.T), n_mfcc=n_mfcc)


def _shape(S: np.ndarray, *, sr: int, n_fft: int, share: float):
    """Centroid, p=2 bandwidth and roll-off of each frame of S [frames, bins] (see _shape_sums)."""
    freq = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    m0, m1, m2, first = _shape_sums(np.ascontiguousarray(S, dtype=np.float32), freq, share)
    m0 = np.where(m0 < np.finfo(np.float32).tiny, 1.0, m0)  # librosa leaves silence unscaled
    centroid = m1 / m0
    return centroid, np.sqrt(np.maximum(m2 / m0 - centroid**2, 0.0)), freq[first]


@numba.njit(cache=True)
def _shape_sums(S, freq, share):  # pragma: no cover (compiled)
    """Per frame of S [frames, bins] (float32): its first three spectral moments in float64,
    for centroid and bandwidth (~1e-8 of librosa's, which normalises S first), and its roll-off
    bin: the first whose float32 running sum reaches `share` of the frame's, librosa's own
    cumulative sum (the same additions in the same order, so the same bin). Sequential sums
    numpy cannot vectorise, compiled as librosa compiles its own loops (numba): SHAPE_LANES
    frames at a time are copied side by side (bin-major), so their sums run in parallel lanes."""
    frames, bins = S.shape
    m0, m1, m2 = np.zeros(frames), np.zeros(frames), np.zeros(frames)
    first = np.zeros(frames, dtype=np.int64)
    block = np.zeros((bins, SHAPE_LANES), dtype=np.float32)
    total, running = np.zeros(SHAPE_LANES, np.float32), np.zeros(SHAPE_LANES, np.float32)
    a0, a1, a2 = np.zeros(SHAPE_LANES), np.zeros(SHAPE_LANES), np.zeros(SHAPE_LANES)
    found = np.zeros(SHAPE_LANES, dtype=np.int64)
    for start in range(0, frames, SHAPE_LANES):
        n = min(SHAPE_LANES, frames - start)
        block[:] = 0.0  # the lanes past the last frame stay silent
        for j in range(n):
            for k in range(bins):
                block[k, j] = S[start + j, k]
        total[:], a0[:], a1[:], a2[:] = 0.0, 0.0, 0.0, 0.0
        for k in range(bins):
            f = freq[k]
            for j in range(SHAPE_LANES):
                s = block[k, j]
                total[j] += s
                a0[j] += s
                a1[j] += s * f
                a2[j] += s * (f * f)
        for j in range(SHAPE_LANES):
            total[j] *= np.float32(share)  # now the frame's roll-off threshold
        running[:], found[:] = 0.0, -1
        for k in range(bins):
            for j in range(SHAPE_LANES):
                running[j] += block[k, j]
                if found[j] < 0 and running[j] >= total[j]:
                    found[j] = k
        for j in range(n):
            m0[start + j], m1[start + j], m2[start + j] = a0[j], a1[j], a2[j]
            first[start + j] = max(found[j], 0)
    return m0, m1, m2, first


def _chroma(P: np.ndarray, *, sr: int, n_fft: int, tuning: float | None) -> np.ndarray:
    """Chroma [12, frames] of a power spectrogram P [frames, bins]."""
    if tuning is None:
        tuning = _tuning(P, sr=sr)
    raw = (P @ _chroma_basis(sr, n_fft, float(tuning)).T).T
    return librosa.util.normalize(raw, norm=np.inf, axis=0)


def _tuning(P: np.ndarray, *, sr: int) -> float:
    """librosa.estimate_tuning(S=P, sr=sr, bins_per_octave=12), its pitch tracking (piptrack:
    fmin 150 Hz, fmax 4 kHz, threshold 0.1 of the frame's peak) done only on the bins between
    fmin and fmax (and their neighbours), where librosa keeps its results: the same values."""
    n_fft = 2 * (P.shape[1] - 1)  # P: [frames, bins]
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    inside = np.flatnonzero((freqs >= PIPTRACK_FMIN) & (freqs < min(PIPTRACK_FMAX, sr / 2)))
    if inside.size == 0 or inside[0] == 0 or inside[-1] == len(freqs) - 1:
        with warnings.catch_warnings():  # silence has no pitches: librosa warns, returns 0.0
            warnings.simplefilter("ignore", UserWarning)
            return float(librosa.estimate_tuning(S=P.T, sr=sr, bins_per_octave=N_CHROMA))
    lo, hi = inside[0], inside[-1] + 1
    band = np.ascontiguousarray(P[:, lo - 1 : hi + 1])  # one neighbour either side: stencils
    avg = np.gradient(band, axis=1)[:, 1:-1]
    shift = _parabolic_interpolation(band, axis=1)[:, 1:-1]
    reference = PIPTRACK_THRESHOLD * P.max(axis=1, keepdims=True)  # the peak over ALL bins
    peaks = librosa.util.localmax(band * (band > reference), axis=1)[:, 1:-1]
    t, k = np.nonzero(peaks)
    pitch = (lo + k + shift[t, k]) * float(sr) / n_fft
    mag = band[:, 1:-1][t, k] + 0.5 * avg[t, k] * shift[t, k]
    positive = pitch > 0
    threshold = np.median(mag[positive]) if positive.any() else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tuning = librosa.pitch_tuning(
            pitch[(mag >= threshold) & positive], resolution=0.01, bins_per_octave=N_CHROMA
        )
    return float(tuning)


@functools.lru_cache(maxsize=8)
def _mel_bands(sr: int, n_fft: int, group: int = 16) -> list[tuple[slice, int, int, np.ndarray]]:
    """librosa's slaney mel filters in groups of `group` neighbours, each with the bin range
    [lo, hi) the group covers and its weights [hi - lo, group]: each filter spans a few bins,
    so the product costs ~1/7 of the dense one (sums in another order: ~1e-7 apart)."""
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=N_MELS)
    bands = []
    for start in range(0, N_MELS, group):
        rows = slice(start, min(start + group, N_MELS))
        used = np.flatnonzero(basis[rows].any(axis=0))
        if used.size:
            lo, hi = int(used[0]), int(used[-1]) + 1
            weights = np.ascontiguousarray(basis[rows, lo:hi].T)
            weights.setflags(write=False)
            bands.append((rows, lo, hi, weights))
    return bands


@functools.lru_cache(maxsize=256)  # tunings are multiples of 0.01 in [-0.5, 0.5)
def _chroma_basis(sr: int, n_fft: int, tuning: float) -> np.ndarray:
    basis = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning, n_chroma=N_CHROMA)
    basis.setflags(write=False)
    return basis
