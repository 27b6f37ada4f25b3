"""The 44 features: each against librosa's own function, known answers, windows, bad input."""

import librosa
import numpy as np
import pytest
import soundfile as sf
from helpers import SR, noise, tone

from genre import GENRES
from genre.errors import GenreError
from genre.features import handcrafted
from genre.params import FeaturizeParams

P = FeaturizeParams()  # n_fft 2048, hop 512, 13 MFCC, window 0.5 s
# Within 1e-4 relative, 1e-5 absolute: the sparse mel product sums in another order than
# librosa's dense one (~1e-7 apart), which moves an MFCC near 0, in a frame whose coefficients
# reach hundreds, by up to ~3e-6.
TOL = {"rtol": 1e-4, "atol": 1e-5}
NOISE = 0.1  # the test noise's amplitude


def chirp(seconds=3.0, sr=SR):
    return librosa.chirp(fmin=110, fmax=4000, sr=sr, duration=seconds).astype(np.float32)


def mixture(seconds=3.0, sr=SR):
    """Tones, a chirp and noise that start and stop: non-stationary, with silence."""
    y = 0.3 * chirp(seconds, sr) + tone(seconds, hz=261.6, sr=sr, amplitude=0.2)
    y = y + 0.2 * noise(seconds, sr=sr, amplitude=NOISE)
    y[: sr // 2] = 0.0
    y[-sr // 3 :] *= 0.01
    return y


SIGNALS = {
    "chirp": chirp,
    "tone": lambda: tone(3.0, hz=440.0),
    "noise": lambda: noise(3.0, amplitude=NOISE),
    "mixture": mixture,
}


def librosa_frames(y, *, sr=SR, p=P, tuning=None) -> dict:
    """The per-frame features as librosa computes them from y, one call each (the seed's way)."""
    kw = {"sr": sr, "n_fft": p.n_fft, "hop_length": p.hop_length}
    mfcc = librosa.feature.mfcc(y=y, n_mfcc=13, **kw)
    return {
        "mfcc": mfcc,
        "delta": librosa.feature.delta(mfcc, width=9, order=1),
        "delta2": librosa.feature.delta(mfcc, width=9, order=2),
        "zcr": librosa.feature.zero_crossing_rate(
            y, frame_length=p.n_fft, hop_length=p.hop_length, center=True
        )[0],
        "centroid": librosa.feature.spectral_centroid(y=y, **kw)[0],
        "rolloff": librosa.feature.spectral_rolloff(y=y, roll_percent=0.85, **kw)[0],
        "chroma": librosa.feature.chroma_stft(y=y, tuning=tuning, **kw),
        "bandwidth": librosa.feature.spectral_bandwidth(y=y, p=2, **kw)[0],
    }


def librosa_summary(y, *, tuning=None) -> np.ndarray:
    f = librosa_frames(y, tuning=tuning)
    return np.concatenate(
        [
            f["mfcc"].mean(axis=1, dtype=np.float64),
            f["delta"].std(axis=1, dtype=np.float64),
            f["delta2"].std(axis=1, dtype=np.float64),
            [np.mean(f[k], dtype=np.float64) for k in ("zcr", "centroid", "rolloff", "chroma")],
            [np.mean(f["bandwidth"], dtype=np.float64)],
        ]
    )


# --- each feature against librosa ---------------------------------------------------------


@pytest.mark.parametrize("name", SIGNALS)
@pytest.mark.parametrize(
    "p", [P, FeaturizeParams(n_fft=1024, hop_length=256)], ids=["2048-512", "1024-256"]
)
def test_every_feature_matches_librosa(name, p):
    y = SIGNALS[name]()
    ref = librosa_frames(y, p=p)
    S = handcrafted.spectrogram(y=y, n_fft=p.n_fft, hop_length=p.hop_length)
    kw = {"sr": SR, "n_fft": p.n_fft, "hop_length": p.hop_length}
    for given in ({"y": y}, {"S": S}):  # from the audio or from a precomputed |STFT|
        np.testing.assert_allclose(handcrafted.mfcc(**given, **kw), ref["mfcc"], **TOL)
        np.testing.assert_allclose(
            handcrafted.spectral_centroid(**given, **kw), ref["centroid"], **TOL
        )
        np.testing.assert_allclose(
            handcrafted.spectral_rolloff(**given, **kw), ref["rolloff"], **TOL
        )
        np.testing.assert_allclose(
            handcrafted.spectral_bandwidth(**given, **kw), ref["bandwidth"], **TOL
        )
        np.testing.assert_allclose(handcrafted.chroma(**given, **kw), ref["chroma"], **TOL)
    zcr = handcrafted.zero_crossing_rate(y=y, frame_length=p.n_fft, hop_length=p.hop_length)
    np.testing.assert_allclose(zcr, ref["zcr"], **TOL)
    assert zcr.shape == (S.shape[1],)  # the same framing as the STFT


@pytest.mark.parametrize(
    ("frame_length", "hop"), [(2048, 512), (2047, 500), (1000, 1000), (511, 3)]
)
def test_zero_crossing_rate_matches_librosa_on_any_framing(frame_length, hop):
    y = noise(1.0, amplitude=NOISE)
    y[100:300] = 0.0  # exact zeros count as positive
    y[400:410] = -0.0
    y[500:520] = -1e-11  # below librosa's threshold: zero
    y[-50:] = 0.3  # the end: edge padding repeats it
    expected = librosa.feature.zero_crossing_rate(y, frame_length=frame_length, hop_length=hop)
    zcr = handcrafted.zero_crossing_rate(y=y, frame_length=frame_length, hop_length=hop)
    np.testing.assert_array_equal(zcr, expected[0])


@pytest.mark.parametrize("name", SIGNALS)
def test_frame_features_stack_librosa_features_in_feature_order(name):
    y = SIGNALS[name]()
    ref = librosa_frames(y)
    frames = handcrafted.frame_features(y, sample_rate=SR, params=P)
    expected = np.vstack(
        [
            ref["mfcc"],
            ref["delta"],
            ref["delta2"],
            ref["zcr"],
            ref["centroid"],
            ref["rolloff"],
            ref["chroma"].mean(axis=0),
            ref["bandwidth"],
        ]
    )
    assert frames.shape == (44, 1 + len(y) // P.hop_length)
    np.testing.assert_allclose(frames, expected, **TOL)


@pytest.mark.parametrize("name", SIGNALS)
def test_tuning_is_estimated_as_chroma_stft_does(name):
    y = SIGNALS[name]()
    S = np.abs(librosa.stft(y, n_fft=P.n_fft, hop_length=P.hop_length)) ** 2
    expected = librosa.estimate_tuning(S=S, sr=SR, bins_per_octave=12)
    assert handcrafted.estimate_tuning(y, sample_rate=SR, params=P) == pytest.approx(expected)


def test_a_given_tuning_is_used_for_chroma():
    y = mixture()
    ref = librosa.feature.chroma_stft(
        y=y, sr=SR, n_fft=P.n_fft, hop_length=P.hop_length, tuning=0.3
    )
    np.testing.assert_allclose(
        handcrafted.chroma(y=y, sr=SR, n_fft=P.n_fft, hop_length=P.hop_length, tuning=0.3),
        ref,
        **TOL,
    )
    with_default = handcrafted.clip_features(y, sample_rate=SR, duration_s=3.0, params=P)
    with_given = handcrafted.clip_features(y, sample_rate=SR, duration_s=3.0, params=P, tuning=0.3)
    chroma = handcrafted.FEATURE_NAMES.index("chroma_mean")
    assert with_given.summary[chroma] == pytest.approx(ref.mean(), rel=1e-4)
    assert with_given.summary[chroma] != with_default.summary[chroma]
    assert with_given.tuning == 0.3
    assert with_default.tuning == handcrafted.estimate_tuning(y, sample_rate=SR, params=P)


@pytest.mark.parametrize("name", SIGNALS)
def test_summary_is_librosa_mean_and_delta_std(name):
    y = SIGNALS[name]()
    out = handcrafted.clip_features(y, sample_rate=SR, duration_s=3.0, params=P)
    assert out.summary.dtype == np.float32 and out.summary.shape == (44,)
    np.testing.assert_allclose(out.summary, librosa_summary(y), **TOL)


def real_clip(folder, genre: str) -> np.ndarray:
    """The real 30 s clip of `genre` (clip_features crops to duration_s)."""
    y, sr = sf.read(folder / genre / f"{genre}.00000.wav", dtype="float32")
    assert sr == SR
    return y[: 30 * SR]


def test_real_clips_match_librosa(gtzan_sample):
    for genre in GENRES:
        y = real_clip(gtzan_sample, genre)
        out = handcrafted.clip_features(y, sample_rate=SR, duration_s=30.0, params=P)
        np.testing.assert_allclose(out.summary, librosa_summary(y), **TOL, err_msg=genre)


@pytest.mark.slow  # 10 real clips against librosa again: about 4 s of CPU
def test_real_clip_variants_with_their_tracks_tuning_match_librosa(gtzan_sample):
    """A variant (here: noisier) with its track's tuning, as the stage does it."""
    for genre in GENRES:
        y = real_clip(gtzan_sample, genre)
        tuning = handcrafted.estimate_tuning(y, sample_rate=SR, params=P)
        noisy = y + 0.05 * np.random.default_rng(0).standard_normal(y.size).astype(np.float32)
        out = handcrafted.clip_features(
            noisy, sample_rate=SR, duration_s=30.0, params=P, tuning=tuning
        )
        np.testing.assert_allclose(out.summary, librosa_summary(noisy, tuning=tuning), **TOL)


# --- known answers ---------------------------------------------------------------------


def test_known_answers_on_a_pure_tone():
    y = tone(3.0, hz=1000.0)
    kw = {"y": y, "sr": SR, "n_fft": P.n_fft, "hop_length": P.hop_length}
    inner = slice(5, -5)  # frames away from the zero-padded edges
    assert np.allclose(handcrafted.spectral_centroid(**kw)[inner], 1000, rtol=0.01)
    assert np.all(handcrafted.spectral_bandwidth(**kw)[inner] < 100)
    rolloff = handcrafted.spectral_rolloff(**kw)[inner]  # within the Hann window's main lobe
    assert np.all((rolloff >= 1000) & (rolloff <= 1000 + 2 * SR / P.n_fft))
    # a sine crosses zero twice per period
    zcr = handcrafted.zero_crossing_rate(y=y, frame_length=P.n_fft, hop_length=P.hop_length)
    assert np.allclose(zcr[inner], 2 * 1000 / SR, rtol=0.02)
    # chroma: all the energy in pitch class B (1000 Hz is ~B5)
    chroma = handcrafted.chroma(**kw)
    assert np.all(np.argmax(chroma[:, inner], axis=0) == 11)


def test_silence_gives_zeros_not_nans():
    out = handcrafted.clip_features(
        np.zeros(SR * 2, np.float32), sample_rate=SR, duration_s=2.0, params=P
    )
    assert np.all(np.isfinite(out.summary)) and np.all(np.isfinite(out.sequence))
    names = handcrafted.FEATURE_NAMES
    for name in ("zcr_mean", "spectral_centroid_mean", "spectral_bandwidth_mean", "chroma_mean"):
        assert out.summary[names.index(name)] == 0.0
    assert out.summary[names.index("mfcc_01_mean")] == pytest.approx(-100 * np.sqrt(128))


def test_feature_names():
    names = handcrafted.FEATURE_NAMES
    assert len(names) == len(set(names)) == 44
    assert names[:2] == ("mfcc_01_mean", "mfcc_02_mean") and names[12] == "mfcc_13_mean"
    assert names[13] == "mfcc_delta_01_std" and names[26] == "mfcc_delta2_01_std"
    assert names[39:] == (
        "zcr_mean",
        "spectral_centroid_mean",
        "spectral_rolloff_mean",
        "chroma_mean",
        "spectral_bandwidth_mean",
    )


# --- sequences and clip length -------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "window", "steps"), [(3.0, 0.5, 6), (3.0, 0.7, 4), (2.5, 1.0, 2), (30.0, 0.5, 60)]
)
def test_sequence_windows_average_their_frames(duration, window, steps):
    p = FeaturizeParams(window_s=window)
    y = mixture(duration)
    out = handcrafted.clip_features(y, sample_rate=SR, duration_s=duration, params=p)
    assert out.sequence.shape == (steps, 44) and out.sequence.dtype == np.float32
    frames = handcrafted.frame_features(y, sample_rate=SR, params=p)
    times = librosa.frames_to_time(np.arange(frames.shape[1]), sr=SR, hop_length=p.hop_length)
    per_window = int(window * SR / p.hop_length)
    for k in range(steps):
        inside = np.flatnonzero((times >= k * window) & (times < (k + 1) * window))
        chosen = frames[:, inside[:per_window]]  # every window: the same number of frames
        expected = chosen.mean(axis=1)
        expected[13:39] = chosen[13:39].std(axis=1)  # delta and delta-delta: std
        np.testing.assert_allclose(out.sequence[k], expected, rtol=1e-6, atol=1e-6)


def test_windows_stay_inside_the_clip_for_many_settings():
    settings = [
        (22050, 512, 0.5, 30.0),
        (8000, 100, 0.33, 7.0),
        (44100, 1000, 0.1, 1.0),
        (16000, 160, 0.01, 2.0),
    ]
    for sr, hop, window, duration in settings:
        p = FeaturizeParams(n_fft=max(hop, 256), hop_length=hop, window_s=window)
        steps, per_window = handcrafted.window_layout(sample_rate=sr, duration_s=duration, params=p)
        n_frames = 1 + handcrafted.clip_samples(sample_rate=sr, duration_s=duration) // hop
        starts = handcrafted.window_starts(steps=steps, sample_rate=sr, params=p)
        assert steps == int(duration / window) and per_window >= 1
        assert starts[0] == 0 and np.all(np.diff(starts) >= per_window)
        assert starts[-1] + per_window <= n_frames


def test_clips_are_cropped_or_zero_padded_to_duration():
    y = mixture(3.0)
    n = 2 * SR
    crop = handcrafted.clip_features(y, sample_rate=SR, duration_s=2.0, params=P)
    exact = handcrafted.clip_features(y[:n], sample_rate=SR, duration_s=2.0, params=P)
    np.testing.assert_array_equal(crop.summary, exact.summary)
    np.testing.assert_array_equal(crop.sequence, exact.sequence)
    short = y[SR // 2 : SR // 2 + SR]  # 1 s of signal in a 2 s clip
    pad = handcrafted.clip_features(short, sample_rate=SR, duration_s=2.0, params=P)
    padded = np.concatenate([short, np.zeros(n - short.size, np.float32)])
    explicit = handcrafted.clip_features(padded, sample_rate=SR, duration_s=2.0, params=P)
    np.testing.assert_array_equal(pad.summary, explicit.summary)
    assert pad.sequence.shape == (4, 44)
    silent = pad.sequence[3]  # the last window holds only padding: flat mel spectrum, no ZCR
    np.testing.assert_allclose(silent[1:13], 0.0, atol=1e-4)
    assert silent[39] == silent[40] == 0.0


def test_a_clip_given_by_its_frames_gets_the_features_of_its_audio():
    y = mixture(2.0)
    magnitude, zcr = handcrafted.clip_frames(y, params=P)
    given = handcrafted.frames_clip_features(
        magnitude, zcr=zcr, sample_rate=SR, duration_s=2.0, params=P
    )
    from_audio = handcrafted.clip_features(y, sample_rate=SR, duration_s=2.0, params=P)
    np.testing.assert_array_equal(given.summary, from_audio.summary)
    np.testing.assert_array_equal(given.sequence, from_audio.sequence)
    assert given.tuning == from_audio.tuning


def test_filter_banks_are_built_once(monkeypatch):
    calls = []
    real_mel = librosa.filters.mel
    monkeypatch.setattr(librosa.filters, "mel", lambda **kw: calls.append(kw) or real_mel(**kw))
    handcrafted._mel_bands.cache_clear()
    for seed in range(3):
        handcrafted.clip_features(
            noise(2.0, seed=seed, amplitude=NOISE), sample_rate=SR, duration_s=2.0, params=P
        )
    assert len(calls) == 1
    handcrafted._mel_bands.cache_clear()


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        (np.zeros(0, np.float32), "holds no samples"),
        (np.zeros(100, np.float32), "shorter than one frame"),
        (np.full(SR, np.nan, np.float32), "non-finite"),
        (np.zeros((2, SR), np.float32), "must be mono"),
    ],
)
def test_bad_samples_raise_a_clear_error(samples, message):
    with pytest.raises(GenreError, match=message):
        handcrafted.clip_features(samples, sample_rate=SR, duration_s=2.0, params=P)
    with pytest.raises(GenreError, match=message):
        handcrafted.estimate_tuning(samples, sample_rate=SR, params=P)


@pytest.mark.parametrize(
    ("p", "duration", "message"),
    [
        (FeaturizeParams(window_s=3.0), 2.0, r"featurize.window_s \(3.0\) is longer"),
        (FeaturizeParams(window_s=0.01), 2.0, r"featurize.window_s .* shorter than one hop"),
        (FeaturizeParams(n_fft=65536, hop_length=512), 2.0, "featurize.n_fft .* longer than"),
        (FeaturizeParams(n_fft=4096, hop_length=4096, window_s=1.0), 1.0, "deltas need 9"),
    ],
)
def test_settings_that_leave_no_window_raise_a_clear_error(p, duration, message):
    with pytest.raises(GenreError, match=message):
        handcrafted.clip_features(
            noise(duration, amplitude=NOISE), sample_rate=SR, duration_s=duration, params=p
        )
