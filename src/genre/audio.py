"""Reading and writing audio: every clip becomes mono float32 at one sample rate."""

from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from genre.errors import GenreError, native_stderr_hidden


@dataclass(frozen=True)
class Decoded:
    """A decoded clip and what it was before conversion (for noting resampling/down-mixing)."""

    samples: np.ndarray  # float32, mono, at the requested rate
    source_rate: int
    source_channels: int

    def notes(self, sample_rate: int) -> list[str]:
        """What conversion did to the file's audio, e.g. ['resampled from 44100 Hz']."""
        notes = []
        if self.source_channels != 1:
            notes.append(f"down-mixed from {self.source_channels} channels")
        if self.source_rate != sample_rate:
            notes.append(f"resampled from {self.source_rate} Hz")
        return notes


def read(path: str | Path, *, sample_rate: int) -> Decoded:
    """Decode any format libsndfile reads (WAV, FLAC, AU, OGG, MP3), down-mix, resample."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path}: file not found")
    try:
        with native_stderr_hidden():  # the MP3 decoder prints resync notes on bad data
            data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError) as err:
        raise GenreError(f"{path}: not readable audio ({_reason(err)})") from None
    if data.shape[0] == 0:
        raise GenreError(f"{path}: holds no audio samples")
    channels = data.shape[1]
    samples = data.mean(axis=1) if channels > 1 else data[:, 0]
    if rate != sample_rate:
        samples = librosa.resample(samples, orig_sr=rate, target_sr=sample_rate)
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if not np.all(np.isfinite(samples)):
        raise GenreError(f"{path}: holds non-finite samples (corrupt audio)")
    return Decoded(samples, int(rate), int(channels))


def write_wav(path: str | Path, samples: np.ndarray, *, sample_rate: int) -> None:
    """Write mono 16-bit PCM WAV (clipping to [-1, 1])."""
    sf.write(path, np.clip(samples, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad to exactly n samples."""
    return librosa.util.fix_length(samples, size=n)


def _reason(err: Exception) -> str:
    """libsndfile's reason without the path it repeats; its 'does not exist' for a file that
    does exist (what its MP3 probe says of non-audio) means the format is not recognised."""
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    text = text.split("': ", 1)[-1] if text.startswith("Error opening") else text
    if "does not exist" in text:
        return "format not recognised"
    return text.rstrip(".")
