"""The embedded GTZAN-shaped generator: format, determinism, genres that differ like real ones
(the costliest of these statistics over many clips are slow: `pytest -m slow`)."""

import librosa
import numpy as np
import pytest
import soundfile as sf
from scipy import signal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from genre import GENRES
from genre.errors import GenreError
from genre.sources import synthetic
from genre.sources.synthetic import synthesize, write_synthetic

SR = 22050


def clip(genre: str, index: int = 0, *, seconds: float = 5.0, seed: int = 5) -> np.ndarray:
    return synthesize(genre, index, duration_s=seconds, sample_rate=SR, seed=seed)


@pytest.mark.parametrize("genre", GENRES)
def test_clip_is_float32_mono_exact_length_and_unclipped(genre):
    y = clip(genre, seconds=2.5)
    assert y.dtype == np.float32 and y.shape == (int(2.5 * SR),)
    assert np.all(np.isfinite(y))
    assert np.abs(y).max() < 1.0
    assert np.sqrt(np.mean(y**2)) > 0.005  # not silent


def test_clip_depends_only_on_seed_genre_and_index():
    first = [clip("rock", 3, seconds=1), clip("jazz", 1, seconds=1)]
    again = [clip("jazz", 1, seconds=1), clip("rock", 3, seconds=1)]  # other order, same clips
    np.testing.assert_array_equal(first[0], again[1])
    np.testing.assert_array_equal(first[1], again[0])
    assert not np.array_equal(first[0], clip("rock", 3, seconds=1, seed=6))
    assert not np.array_equal(first[0], clip("rock", 4, seconds=1))


def test_write_synthetic_writes_16_bit_mono_wavs_in_genre_index_order(tmp_path):
    paths = write_synthetic(
        tmp_path / "a", clips_per_genre=2, duration_s=1.5, sample_rate=SR, seed=1, n_jobs=2
    )
    expected = [tmp_path / "a" / g / f"{g}.{i:05d}.wav" for g in GENRES for i in range(2)]
    assert paths == expected
    for path in paths:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
        assert info.frames == int(1.5 * SR)
        data, _ = sf.read(path, dtype="int16")
        assert np.abs(data.astype(int)).max() < 32767  # never hits full scale


def test_same_params_give_byte_identical_files_whatever_the_process_count(tmp_path):
    kwargs = {"clips_per_genre": 1, "duration_s": 1.0, "sample_rate": SR}
    one = write_synthetic(tmp_path / "one", seed=3, n_jobs=1, **kwargs)
    two = write_synthetic(tmp_path / "two", seed=3, n_jobs=2, **kwargs)
    other = write_synthetic(tmp_path / "other", seed=4, n_jobs=2, **kwargs)
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(one, other, strict=True))


@pytest.mark.parametrize("sr", [SR, 8000])  # at 8 kHz some EQ bumps are 1-section high-passes
def test_compiled_master_filters_give_scipys_values_bit_for_bit(sr):
    """_recording replaces scipy's sosfilt and lfilter passes: the data must not change."""
    rng = np.random.default_rng(0)
    for _ in range(8):
        x, white = rng.standard_normal(5000) * rng.uniform(0.01, 3), rng.standard_normal(5000)
        lo, gains, centre = rng.uniform(20, 60), rng.uniform(-0.6, 1.5, 3), rng.uniform(150, 6000)
        pole = rng.uniform(0, 0.98)
        expected = synthetic._band(x, lo, sr, sr)
        expected = expected + gains[0] * synthetic._band(expected, 2000, sr, sr, order=1)
        expected = expected + gains[1] * synthetic._band(expected, 0, 250, sr, order=1)
        expected = expected + gains[2] * synthetic._band(expected, centre / 1.5, centre * 1.5, sr)
        sos = (
            synthetic._design(lo, sr, sr),
            synthetic._design(2000, sr, sr, order=1),
            synthetic._design(0, 250, sr, order=1),
            synthetic._design(centre / 1.5, centre * 1.5, sr),
        )
        got, noise = x.copy(), white.copy()
        synthetic._recording(got, noise, sos, tuple(gains), pole)
        assert got.tobytes() == expected.tobytes()
        assert noise.tobytes() == signal.lfilter([1.0], [1.0, -pole], white).tobytes()


def test_notes_give_the_values_of_the_plain_formulas_bit_for_bit():
    """_note slices cached curves and plays its wavetables compiled: the same values as
    computing each note's curves and wave in numpy, as the generator first did."""
    for name, midi, dur in [("strings", 60.0, 0.5), ("piano", 45.0, 1.2), ("sax", 70.0, 5.0)]:
        inst, n = synthetic.INSTRUMENTS[name], max(int(dur * SR), 16)
        t = np.arange(n) / SR
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        vib = inst.vibrato / 1731 * (1 - np.cos(2 * np.pi * 5.5 * t)) / (2 * np.pi * 5.5)
        body, expected = synthetic._resonate(inst.body, f0), np.zeros_like(t)
        for timbre, attack, decay, gain, detune in inst.layers:
            f = f0 * 2 ** (detune / 1200)
            env = gain * (1 - np.exp(-t / attack)) * np.exp(-t / decay)
            table = synthetic._table(synthetic.TIMBRES[timbre] * body, f, SR)
            expected += env * synthetic._wave(table, f * (t + vib))
        expected = expected * np.minimum((t[-1] - t) / 0.01, 1)
        assert synthetic._note(name, midi, dur, SR).tobytes() == expected.tobytes(), name


def test_bad_arguments_raise_genre_error(tmp_path):
    with pytest.raises(GenreError, match="unknown genre 'polka'"):
        synthesize("polka", 0, duration_s=1, sample_rate=SR, seed=0)
    with pytest.raises(GenreError, match="clips_per_genre"):
        write_synthetic(tmp_path, clips_per_genre=0, duration_s=1, sample_rate=SR, seed=0)


def _band_share(y: np.ndarray, lo: float, hi: float) -> float:
    power = np.abs(librosa.stft(y)) ** 2
    freqs = librosa.fft_frequencies(sr=SR)
    return float(power[(freqs >= lo) & (freqs < hi)].sum() / power.sum())


def _median(genre: str, stat, n: int = 6) -> float:
    return float(np.median([stat(clip(genre, i)) for i in range(n)]))


@pytest.mark.slow  # HPSS of 30 clips: about 7 s of CPU
def test_classical_has_no_drums_and_metal_the_bright_cymbals_and_distortion():
    def percussive_share(y):
        harmonic, percussive = librosa.decompose.hpss(np.abs(librosa.stft(y)) ** 2)
        return percussive.sum() / (harmonic.sum() + percussive.sum())

    classical = _median("classical", percussive_share)
    assert classical < 0.1
    for genre in ("metal", "disco", "hiphop", "rock"):
        assert _median(genre, percussive_share) > 2 * classical, genre
    highs = {g: _median(g, lambda y: _band_share(y, 4000, SR / 2)) for g in ("classical", "metal")}
    assert highs["metal"] > 5 * highs["classical"]


@pytest.mark.slow  # 60 clips made and analysed: about 2.5 s of CPU
def test_hiphop_has_the_most_sub_bass():
    sub = {g: _median(g, lambda y: _band_share(y, 0, 80)) for g in GENRES}
    assert max(sub, key=sub.get) == "hiphop", sub


def test_disco_four_on_the_floor_gives_its_tempo_to_a_beat_tracker():
    tempos = [librosa.feature.tempo(y=clip("disco", i, seconds=10), sr=SR)[0] for i in range(4)]
    assert all(105 <= t <= 140 for t in tempos), tempos  # disco plays at 110-132 BPM


def _statistics(y: np.ndarray) -> list[float]:
    """RMS, ZCR, spectral centroid and roll-off means, then 13 MFCC means."""
    return [
        librosa.feature.rms(y=y).mean(),
        librosa.feature.zero_crossing_rate(y).mean(),
        librosa.feature.spectral_centroid(y=y, sr=SR).mean(),
        librosa.feature.spectral_rolloff(y=y, sr=SR).mean(),
        *librosa.feature.mfcc(y=y, sr=SR, n_mfcc=13).mean(axis=1),
    ]


@pytest.mark.slow  # 200 clips of 10 s made and analysed: about 25 s of CPU
def test_no_single_statistic_separates_the_genres_but_all_together_do():
    x = np.array([_statistics(clip(g, i, seconds=10, seed=0)) for g in GENRES for i in range(20)])
    y = np.repeat(np.arange(len(GENRES)), 20)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    simple = [
        DecisionTreeClassifier(max_depth=3, random_state=0),
        KNeighborsClassifier(15),
        LinearDiscriminantAnalysis(),
    ]
    for j, name in enumerate(("rms", "zcr", "centroid", "rolloff")):
        best = max(cross_val_score(c, x[:, [j]], y, cv=folds).mean() for c in simple)
        assert best < 0.40, f"{name} alone classifies {best:.0%} of clips"
    combined = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis())
    assert cross_val_score(combined, x, y, cv=folds).mean() > 0.70
    # Not by loudness: without RMS and MFCC 0 (log energy) the genres still separate.
    assert cross_val_score(combined, x[:, [1, 2, 3, *range(5, 17)]], y, cv=folds).mean() > 0.70
