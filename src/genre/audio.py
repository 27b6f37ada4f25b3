"""Reading and writing audio: every clip becomes mono float32 at one sample rate."""

import io
import re
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from genre.errors import GenreError, native_stderr_hidden, printable

MAX_PEAK = 2.0  # float audio a little over full scale is a loud master; far beyond is garbage


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
    name = printable(path)
    if path.is_dir():
        raise GenreError(f"{name}: is a folder, not an audio file")
    if not path.is_file():
        raise GenreError(f"{name}: file not found")
    try:
        # Opened by Python, so a path that is not UTF-8 works and a permission problem is an
        # OSError saying so (libsndfile says only "System error").
        with open(path, "rb") as f, native_stderr_hidden():  # MP3 decoder's resync notes
            data, rate = sf.read(f, dtype="float32", always_2d=True)
    except OSError as err:
        reason = err.strerror or str(err)
        raise GenreError(f"{name}: cannot be read ({reason}): check its permissions") from None
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError, TypeError) as err:
        raise GenreError(f"{name}: not readable audio ({_reason(err)})") from None
    if data.shape[0] == 0:
        raise GenreError(f"{name}: holds no audio samples")
    check_samples(data, name=name)
    channels = data.shape[1]
    samples = data.mean(axis=1) if channels > 1 else data[:, 0]
    if rate != sample_rate:
        samples = librosa.resample(samples, orig_sr=rate, target_sr=sample_rate)
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    return Decoded(samples, int(rate), int(channels))


def check_samples(data: np.ndarray, *, name: str) -> None:
    """Refuse samples no real recording holds: NaN or infinite values, or a peak beyond
    MAX_PEAK (float files are nominally within [-1, 1]; a little over is a loud master, 1e30
    is garbage that would overflow the features)."""
    finite = np.isfinite(data)
    if not finite.all():
        share = 1 - finite.mean()
        raise GenreError(
            f"{name}: holds NaN or infinite samples ({share:.1%} of them): the file is corrupt"
        )
    peak = float(np.max(np.abs(data)))
    if peak > MAX_PEAK:
        raise GenreError(
            f"{name}: samples reach {peak:.3g}, beyond the format's range [-1, 1] "
            f"(more than {MAX_PEAK:g}x full scale): the file is corrupt or not audio"
        )


def write_wav(path: str | Path, samples: np.ndarray, *, sample_rate: int) -> None:
    """Write mono 16-bit PCM WAV (clipping to [-1, 1]).

    Encoded in memory and written by Python, so a full disk or a permission problem is an
    OSError naming the file (libsndfile reports only "System error")."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    try:
        Path(path).write_bytes(buffer.getvalue())
    except OSError as err:
        if err.filename is not None:
            raise
        raise OSError(err.errno, err.strerror or str(err), str(path)) from None


def fit_length(samples: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad to exactly n samples."""
    return librosa.util.fix_length(samples, size=n)


def _reason(err: Exception) -> str:
    """libsndfile's reason without the path it repeats; its 'does not exist' for a file that
    does exist (what its MP3 probe says of non-audio) means the format is not recognised."""
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    if text.startswith("Error opening"):  # "Error opening '<path>': ..." or "<_io...>: ..."
        text = re.split(r"(?:'|>): ", text, maxsplit=1)[-1]
    if "does not exist" in text or text.lower().startswith("format not recognised"):
        return "format not recognised"
    return text.rstrip(".")
