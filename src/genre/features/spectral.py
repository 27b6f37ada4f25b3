"""The STFT (librosa.stft, bit for bit) and the phase-vocoder time stretch, computed once and
shared: `stretched_frames` stretches a track's frames for featurize, `time_stretch` renders a
stretch as audio for `genre listen`."""

import functools

import librosa
import numpy as np
import scipy.fft
import scipy.signal

from genre.audio import fit_length

STRETCH_N_FFT = 2048  # librosa.effects.time_stretch's STFT
STRETCH_HOP = 512
CHUNK_FRAMES = 64  # frames windowed and transformed together (1 MiB of float64: in L2)


def stft(y: np.ndarray, *, n_fft: int, hop_length: int) -> np.ndarray:
    """Complex64 STFT [frames, 1 + n_fft // 2] of float32 samples (librosa.stft's framing)."""
    padded = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length]
    out = np.empty((frames.shape[0], 1 + n_fft // 2), dtype=np.complex64)
    windowed = np.empty((CHUNK_FRAMES, n_fft))  # float64, as librosa's; a few frames at a
    for start in range(0, len(frames), CHUNK_FRAMES):  # time stay in the CPU's cache
        chunk = frames[start : start + CHUNK_FRAMES]
        np.multiply(chunk, _window(n_fft), out=windowed[: len(chunk)])
        out[start : start + len(chunk)] = scipy.fft.rfft(
            windowed[: len(chunk)], axis=-1, workers=1, overwrite_x=True
        )
    return out


def phase_vocoder(
    spectrum: np.ndarray, *, rate: float, hop_length: int, n_fft: int, frames: int | None = None
) -> np.ndarray:
    """librosa.phase_vocoder of a [frames, bins] STFT, as [frames', bins] complex64; only the
    first `frames` output frames when given (all of them otherwise).

    librosa's algorithm: output frame t sits at input position t x rate, its magnitude
    interpolated between the two input frames around it, its phase the first frame's plus, for
    every earlier step, the expected advance phi = 2 pi k hop / n_fft plus the deviation of
    the measured phase difference from it, wrapped to [-pi, pi]. That sum is, modulo 2 pi, the
    measured phase differences alone (phi + wrap(d - phi) = d + 2 pi m), which is what is
    summed here, in float64, then wrapped before cos/sin (float32, which is exact enough in
    [-pi, pi]). librosa sums phi + deviation in float32, where after 30 s the phase is ~1e6 rad
    and rounded to ~0.1 rad: its output drifts from the exact vocoder by ~1e-3 of full scale,
    ours agrees with librosa's run in double precision to ~1e-6 (tests/test_spectral.py).
    hop_length and n_fft (the expected advance) cancel out; they are kept for librosa's call.
    """
    del hop_length, n_fft  # see above: the expected advance cancels modulo 2 pi
    steps = np.arange(0, spectrum.shape[0], rate, dtype=np.float64)[:frames]
    mag = stretched_frames(np.abs(spectrum), rate=rate, frames=len(steps))
    angle = np.angle(np.concatenate([spectrum, np.zeros((2, spectrum.shape[1]), spectrum.dtype)]))
    first = steps.astype(np.int64)  # int(step), as librosa takes the two frames
    phase = np.empty(mag.shape, dtype=np.float64)  # frame t: angle 0 + differences 0..t-1
    phase[0] = angle[0]
    np.subtract(angle[first[:-1] + 1], angle[first[:-1]], out=phase[1:])
    np.cumsum(phase, axis=0, out=phase)
    phase -= 2.0 * np.pi * np.round(phase / (2.0 * np.pi))
    phase = phase.astype(np.float32)
    out = np.empty(mag.shape, dtype=np.complex64)
    np.multiply(mag, np.cos(phase), out=out.real)
    np.multiply(mag, np.sin(phase), out=out.imag)
    return out


def stretched_frames(values: np.ndarray, *, rate: float, frames: int) -> np.ndarray:
    """The first `frames` frames of per-frame `values` [n, ...] (magnitudes, or any per-frame
    quantity) time-stretched by `rate` as librosa.phase_vocoder stretches its magnitudes: output
    frame t is the input at position t x rate, linearly interpolated between the two frames
    around it (float32 weights), and zero from the input's end on."""
    steps = np.arange(0, values.shape[0], rate, dtype=np.float64)[:frames]
    first = steps.astype(np.int64)  # int(step), as librosa takes the two frames
    alpha = np.mod(steps, 1.0).astype(np.float32).reshape(-1, *[1] * (values.ndim - 1))
    padded = np.concatenate([values, np.zeros((2, *values.shape[1:]), values.dtype)])
    out = np.zeros((frames, *values.shape[1:]), dtype=np.result_type(values, np.float32))
    out[: len(steps)] = (1 - alpha) * padded[first] + alpha * padded[first + 1]
    return out


def time_stretch(y: np.ndarray, *, rate: float, size: int, spectrum: np.ndarray | None = None):
    """librosa.effects.time_stretch(y, rate=rate) cropped or zero-padded to `size` samples.

    spectrum: stft(y, n_fft=STRETCH_N_FFT, hop_length=STRETCH_HOP) when already computed.
    Only the frames that reach the first `size` samples are vocoded and inverted (librosa's
    istft would use just those for them too).
    """
    y = np.asarray(y, dtype=np.float32)
    if spectrum is None:
        spectrum = stft(y, n_fft=STRETCH_N_FFT, hop_length=STRETCH_HOP)
    length = min(int(round(y.shape[-1] / rate)), size)
    frames = int(np.ceil((length + 2 * (STRETCH_N_FFT // 2)) / STRETCH_HOP))
    stretched = phase_vocoder(
        spectrum, rate=rate, hop_length=STRETCH_HOP, n_fft=STRETCH_N_FFT, frames=frames
    )
    out = librosa.istft(
        stretched.T, hop_length=STRETCH_HOP, n_fft=STRETCH_N_FFT, dtype=y.dtype, length=length
    )
    return fit_length(out, size)


@functools.lru_cache(maxsize=8)
def _window(n_fft: int) -> np.ndarray:
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    window.setflags(write=False)
    return window
