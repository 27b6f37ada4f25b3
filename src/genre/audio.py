"""Reading and writing audio: every clip becomes mono float32 at one sample rate.

Decoding is bounded by what the header says BEFORE any sample is decoded: the sample rate
(MIN_RATE and up), the data per second (MAX_VALUES_PER_S: rate x channels) and the duration
(max_seconds). The samples are then decoded in blocks, down-mixed and resampled block by block,
and decoding stops at max_seconds whatever the header claimed (an MP3's length is an estimate),
so memory is the output's and the work is max_seconds' worth, never a header's claim.
"""

import errno
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from genre.errors import GenreError, native_stderr_hidden, printable

MAX_PEAK = 2.0  # float audio a little over full scale is a loud master; far beyond is garbage
MIN_RATE = 4000  # Hz: telephone audio is 8000; below 4000 a header is wrong, not music
MAX_VALUES_PER_S = 8 * 192_000  # samples x channels a second: 7.1 at 192 kHz, 32 stems at 48 kHz
LONGEST_SONG_S = 20 * 60.0  # default bound of one read (genre predict --max-minutes)
BLOCK_VALUES = 1 << 20  # samples x channels decoded at a time: 4 MB of float32
RESAMPLER = "soxr_hq"  # librosa.resample's default: the same samples, block by block
UNKNOWN_LENGTH = "MP3"  # formats whose header length is an estimate: bounded while decoding
FILE_KINDS = {  # stat type -> what it is, for a path that is not a regular file
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


class TooLong(GenreError):
    """Audio longer than the bound a read was given (its message says which)."""


@dataclass(frozen=True)
class Decoded:
    """A decoded clip and what it was before conversion (for noting resampling/down-mixing)."""

    samples: np.ndarray  # float32, mono, at the requested rate
    source_rate: int
    source_channels: int
    cut_at_s: float | None = None  # cut to its first cut_at_s seconds (read with crop=True)

    def notes(self, sample_rate: int) -> list[str]:
        """What conversion did to the file's audio, e.g. ['resampled from 44100 Hz']."""
        notes = []
        if self.source_channels != 1:
            notes.append(f"down-mixed from {self.source_channels} channels")
        if self.source_rate != sample_rate:
            notes.append(f"resampled from {self.source_rate} Hz")
        if self.cut_at_s is not None:
            notes.append(f"cut to its first {span(self.cut_at_s)}")
        return notes


def read(
    path: str | Path,
    *,
    sample_rate: int,
    max_seconds: float = LONGEST_SONG_S,
    crop: bool = False,
) -> Decoded:
    """Decode any format libsndfile reads (WAV, FLAC, AU, OGG, MP3), down-mix, resample.

    Audio longer than max_seconds is refused (TooLong), or with crop=True cut to its first
    max_seconds; only that much is ever decoded. GenreError naming the file for anything
    that is not a regular file of readable audio within the bounds (see the module)."""
    name = check_regular_file(path)
    try:
        # Opened by Python, so a path that is not UTF-8 works and a permission problem is an
        # OSError saying so (libsndfile says only "System error"). Non-blocking, so a FIFO
        # swapped in after the check cannot hang the open; fstat then refuses it.
        with open(path, "rb", opener=_open_nonblocking) as f, native_stderr_hidden():
            _check_mode(os.fstat(f.fileno()).st_mode, name=name)
            with sf.SoundFile(f) as sound:
                limit = check_header(sound, name=name, max_seconds=max_seconds, crop=crop)
                samples, cut = _decode(sound, limit=limit, sample_rate=sample_rate, name=name)
                rate, channels = sound.samplerate, sound.channels
    except OSError as err:
        reason = err.strerror or str(err)
        raise GenreError(f"{name}: cannot be read ({reason}): check its permissions") from None
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError, TypeError) as err:
        raise GenreError(f"{name}: not readable audio ({_reason(err)})") from None
    if cut and not crop:
        raise _too_long(name, seconds=None, limit=max_seconds)
    return Decoded(samples, int(rate), int(channels), max_seconds if cut else None)


def check_regular_file(path: str | Path) -> str:
    """The path as printable text, if it names a regular file (or a link to one); GenreError
    saying what it is otherwise: missing, a folder, a FIFO or a device (never opened: a FIFO
    would block), or an empty name."""
    if os.fspath(path) in ("", b""):
        raise GenreError("'': an empty file name: give the path of an audio file")
    name = printable(path)
    try:
        mode = os.stat(path).st_mode
    except ValueError:  # "embedded null byte": no file can have that name
        raise GenreError(f"{name}: not a file name (it holds a NUL character)") from None
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            raise GenreError(f"{name}: file not found") from None
        reason = err.strerror or str(err)
        raise GenreError(f"{name}: cannot be read ({reason}): check the path") from None
    _check_mode(mode, name=name)
    return name


def _check_mode(mode: int, *, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise GenreError(f"{name}: is a folder, not an audio file")
    if not stat.S_ISREG(mode):
        kind = FILE_KINDS.get(stat.S_IFMT(mode), "a special file")
        raise GenreError(f"{name}: is not a regular file ({kind}): give the path of an audio file")


def _open_nonblocking(path, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)


def check_header(sound: sf.SoundFile, *, name: str, max_seconds: float, crop: bool) -> int:
    """The number of frames a read may decode (max_seconds at the file's rate), after refusing
    a rate below MIN_RATE, more data a second than MAX_VALUES_PER_S, or (crop=False) a header
    length over the limit."""
    rate, channels = sound.samplerate, sound.channels
    if rate < MIN_RATE:
        raise GenreError(
            f"{name}: its sample rate is {rate} Hz, below {MIN_RATE} Hz: no music is recorded "
            "so (the header is likely wrong); export the audio again at 22050 Hz or more"
        )
    if rate * channels > MAX_VALUES_PER_S:
        raise GenreError(
            f"{name}: {channels} channels at {rate} Hz, more data a second than music holds "
            f"(at most {MAX_VALUES_PER_S:,} samples, e.g. 8 channels at 192 kHz): down-mix or "
            "resample it (e.g. to stereo at 44100 Hz)"
        )
    limit = math.floor(max_seconds * rate)
    if not crop and sound.format != UNKNOWN_LENGTH and sound.frames > limit:
        raise _too_long(name, seconds=sound.frames / rate, limit=max_seconds)
    return limit


def _decode(
    sound: sf.SoundFile, *, limit: int, sample_rate: int, name: str
) -> tuple[np.ndarray, bool]:
    """At most `limit` frames of the file, mono float32 at sample_rate, and whether it holds
    more. Decoded BLOCK_VALUES at a time, each block checked (NaN/inf, peak), down-mixed and
    fed to a streaming resampler: memory is the output's, whatever the file's rate or header."""
    rate, channels = sound.samplerate, sound.channels
    block = max(1, BLOCK_VALUES // channels)
    resampler = None
    if rate != sample_rate:
        resampler = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality=RESAMPLER)
    parts, frames, bad, peak, cut = [], 0, 0, 0.0, False
    while not cut:
        data = sound.read(min(block, limit + 1 - frames), dtype="float32", always_2d=True)
        if not len(data):
            break
        if frames + len(data) > limit:  # the frame past the limit only says there is more
            data, cut = data[: limit - frames], True
        frames += len(data)
        bad += data.size - int(np.count_nonzero(np.isfinite(data)))
        if bad or not data.size:
            continue  # a file with NaN/inf is refused below: only counted on
        peak = max(peak, float(np.max(np.abs(data))))
        mono = data.mean(axis=1) if channels > 1 else data[:, 0]
        parts.append(resampler.resample_chunk(mono) if resampler else mono)
    if frames == 0:
        raise GenreError(f"{name}: holds no audio samples")
    if bad:
        raise GenreError(
            f"{name}: holds NaN or infinite samples ({bad / (frames * channels):.1%} of them): "
            "the file is corrupt"
        )
    _check_peak(peak, name=name)
    if resampler is None:
        return np.concatenate(parts), cut
    parts.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    size = math.ceil(frames * sample_rate / rate)  # librosa.resample's length
    return fit_length(np.concatenate(parts), size).astype(np.float32, copy=False), cut


def _too_long(name: str, *, seconds: float | None, limit: float) -> TooLong:
    lasts = f"lasts {span(seconds)}" if seconds is not None else f"lasts more than {span(limit)}"
    return TooLong(f"{name}: {lasts}, over the limit of {span(limit)} for one file: use an excerpt")


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
    _check_peak(float(np.max(np.abs(data))) if data.size else 0.0, name=name)


def _check_peak(peak: float, *, name: str) -> None:
    if peak > MAX_PEAK:
        raise GenreError(
            f"{name}: samples reach {peak:.3g}, beyond the format's range [-1, 1] "
            f"(more than {MAX_PEAK:g}x full scale): the file is corrupt or not audio"
        )


def span(seconds: float) -> str:
    """A duration for people: '42 min 10 s', '20 min', '7.5 s'."""
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes >= 120:
        return f"{seconds / 3600:.1f} h"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


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
    if len(samples) >= n:
        return samples[:n]
    return np.pad(samples, (0, n - len(samples)))


def _reason(err: Exception) -> str:
    """libsndfile's reason without the path it repeats; its 'does not exist' for a file that
    does exist (what its MP3 probe says of non-audio) means the format is not recognised."""
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    if text.startswith("Error opening"):  # "Error opening '<path>': ..." or "<_io...>: ..."
        text = re.split(r"(?:'|>): ", text, maxsplit=1)[-1]
    if "does not exist" in text or text.lower().startswith("format not recognised"):
        return "format not recognised"
    return text.rstrip(".")
