"""The shared STFT and the time stretch against librosa's own functions."""

import librosa
import numpy as np
import pytest
import soundfile as sf

from genre.audio import fit_length
from genre.features import spectral

SR = 22050


def music(seconds=4.0):
    """A chord with vibrato over noise: phases that drift, as in real music."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(
        0.2 * np.sin(2 * np.pi * f * t + 3 * np.sin(2 * np.pi * 5 * t)) for f in (220, 277, 330)
    )
    y = y + 0.01 * np.random.default_rng(0).standard_normal(t.size)
    return y.astype(np.float32)


@pytest.mark.parametrize(("n_fft", "hop"), [(2048, 512), (1024, 256), (2048, 300)])
def test_stft_is_librosas_bit_for_bit(n_fft, hop):
    y = music()
    own = spectral.stft(y, n_fft=n_fft, hop_length=hop)
    assert own.dtype == np.complex64 and own.flags.c_contiguous
    np.testing.assert_array_equal(own.T, librosa.stft(y, n_fft=n_fft, hop_length=hop))


def exact_stretch(y: np.ndarray, rate: float) -> np.ndarray:
    """librosa.effects.time_stretch with its phase vocoder run in double precision."""
    D = librosa.stft(y).astype(np.complex128)
    stretched = librosa.phase_vocoder(D, rate=rate, hop_length=512, n_fft=2048)
    out = librosa.istft(stretched, length=int(round(y.size / rate)), dtype=np.float64)
    return fit_length(out.astype(np.float32), y.size)


@pytest.mark.parametrize("rate", [0.8, 0.93, 1.0, 1.1, 1.25])
def test_time_stretch_is_librosas_in_double_precision(rate):
    """Within 1e-5 of librosa's time stretch with the phase summed in float64 (librosa sums
    it in float32, which drifts by ~1e-3 of full scale over 30 s), cropped or padded back."""
    y = music()
    own = spectral.time_stretch(y, rate=rate, size=y.size)
    assert own.dtype == np.float32 and own.shape == y.shape
    np.testing.assert_allclose(own, exact_stretch(y, rate), rtol=0, atol=1e-5)
    if rate > 1:  # shorter: zero-padded back to the clip's length
        assert not own[int(round(y.size / rate)) :].any()


def test_a_given_stft_is_used_and_gives_the_same_stretch():
    y = music()
    spectrum = spectral.stft(y, n_fft=spectral.STRETCH_N_FFT, hop_length=spectral.STRETCH_HOP)
    np.testing.assert_array_equal(
        spectral.time_stretch(y, rate=0.9, size=y.size, spectrum=spectrum),
        spectral.time_stretch(y, rate=0.9, size=y.size),
    )


def test_phase_vocoder_magnitudes_are_librosas():
    y = music()
    D = librosa.stft(y)
    own = spectral.phase_vocoder(np.ascontiguousarray(D.T), rate=0.8, hop_length=512, n_fft=2048)
    ref = librosa.phase_vocoder(D, rate=0.8, hop_length=512, n_fft=2048)
    np.testing.assert_allclose(np.abs(own.T), np.abs(ref), rtol=1e-5, atol=1e-6 * np.abs(ref).max())


def test_real_clip_stretch_matches_librosa_in_double_precision(gtzan_sample):
    y, sr = sf.read(gtzan_sample / "jazz" / "jazz.00000.wav", dtype="float32")
    assert sr == SR
    y = y[: 10 * SR]
    for rate in (0.8, 1.25):
        own = spectral.time_stretch(y, rate=rate, size=y.size)
        np.testing.assert_allclose(own, exact_stretch(y, rate), rtol=0, atol=1e-5)
