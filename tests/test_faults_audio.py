"""Fault battery, hostile audio (issue 20): the work a file can cause is bounded by its header
BEFORE decoding (sample rate, data per second, duration), decoding stops at the bound whatever
the header claimed, and paths that are not regular files are named for what they are (a FIFO
is never opened). Each refusal is one line naming the file; memory stays far below what the
unbounded decoder took (a 40 KB WAV at 8 Hz: 659 MiB for genre.audio.read, 2 GiB for
genre predict's decoding and features)."""

import math
import os
import signal
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from helpers import PARAMS_YAML, build_models, noise, run_predict

from genre import audio
from genre.errors import GenreError, printable
from genre.features.layout import FeatureSettings
from genre.params import DataParams, FeaturizeParams

SR = 22050
MiB = 1 << 20


def wav_bytes(*, rate: int, data: bytes, channels: int = 1, declared: int | None = None) -> bytes:
    """A 16-bit PCM WAV by hand, its header free to claim any rate and data length."""
    declared = len(data) if declared is None else declared
    fmt = struct.pack(
        "<HHIIHH", 1, channels, rate, (rate * channels * 2) & 0xFFFFFFFF, channels * 2, 16
    )
    riff = min(36 + declared, 0xFFFFFFFF)
    return (
        b"RIFF" + struct.pack("<I", riff) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", declared) + data
    )  # fmt: skip


def noise_bytes(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.4, 0.4, n) * 32767).astype("<i2").tobytes()


def hostile_rate_wav(path: Path, rate: int) -> Path:
    """40 KB of 16-bit noise whose header says `rate` Hz (at 8 Hz: 42 minutes)."""
    path.write_bytes(wav_bytes(rate=rate, data=noise_bytes(20_000)))
    return path


def numpy_peak(function) -> int:
    """Peak bytes NumPy (and Python) allocated while running function (tracemalloc)."""
    tracemalloc.start()
    try:
        function()
    except GenreError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.fixture
def alarm():
    """Fail (instead of hanging) when a test blocks: a FIFO opened for reading would."""

    def timeout(signum, frame):
        raise TimeoutError("blocked: a FIFO was opened for reading?")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# --- the sample rate ------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [1, 2, 8, 3999])
def test_a_rate_under_4000_hz_is_refused_before_decoding(tmp_path, rate):
    path = hostile_rate_wav(tmp_path / f"r{rate}.wav", rate)
    with pytest.raises(GenreError) as err:
        audio.read(path, sample_rate=SR)
    assert str(err.value) == (
        f"{path}: its sample rate is {rate} Hz, below 4000 Hz: no music is recorded so (the "
        "header is likely wrong); export the audio again at 22050 Hz or more"
    )
    # unbounded, 8 Hz decoded to 42 minutes: 220 MB of float32 before the resampler's copies
    assert numpy_peak(lambda: audio.read(path, sample_rate=SR)) < 1 * MiB


def test_4000_hz_is_read(tmp_path):
    path = hostile_rate_wav(tmp_path / "r4000.wav", 4000)
    decoded = audio.read(path, sample_rate=SR)
    assert len(decoded.samples) == 5 * SR  # 20000 samples at 4000 Hz: 5 s
    assert decoded.notes(SR) == ["resampled from 4000 Hz"]


def test_peak_memory_of_an_8_hz_wav_in_a_fresh_process(tmp_path):
    """ru_maxrss of the decoding process: after importing, reading the 8 Hz file adds almost
    nothing (unbounded: 659 MiB; `python benchmarks/bench_hostile_audio.py` measures both)."""
    path = hostile_rate_wav(tmp_path / "r8.wav", 8)
    child = (
        "import resource, sys\n"
        "from genre import audio\n"
        "from genre.errors import GenreError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    audio.read(sys.argv[1], sample_rate=22050)\n"
        "except GenreError as err:\n"
        "    print(err)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", child, str(path)], capture_output=True, text=True, env=env
    )
    message, grown_kib = done.stdout.strip().splitlines()
    assert "its sample rate is 8 Hz" in message
    assert int(grown_kib) < 20 * 1024


# --- the length a header claims -------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "declared", "frames"), [
    ("WAV", 0xFFFFFFF0, 100),  # libsndfile reads what the file holds
    ("AU", 0xFFFFFFFF, 100),  # AU's "size unknown": to the end of the file
    ("AU", 0xFFFFFFF0, 0),  # libsndfile finds no samples: refused in one line
])  # fmt: skip
def test_a_header_claiming_4_gb_in_a_tiny_file_allocates_nothing_of_it(
    tmp_path, fmt, declared, frames
):
    path = tmp_path / f"liar.{fmt.lower()}"
    data = noise_bytes(100)
    if fmt == "WAV":
        path.write_bytes(wav_bytes(rate=SR, data=data, declared=declared))
    else:  # AU: magic, offset, data size, encoding 3 (16-bit), rate, channels; big-endian
        big = np.frombuffer(data, "<i2").astype(">i2").tobytes()
        path.write_bytes(b".snd" + struct.pack(">IIIII", 24, declared, 3, SR, 1) + big)
    if frames:
        assert len(audio.read(path, sample_rate=SR).samples) == frames
    else:
        with pytest.raises(GenreError) as err:
            audio.read(path, sample_rate=SR)
        assert str(err.value) == f"{path}: holds no audio samples"
    assert numpy_peak(lambda: audio.read(path, sample_rate=SR)) < 1 * MiB


def test_a_sparse_file_of_4_gb_is_refused_by_its_header_unread(tmp_path):
    """A 4 GB file with holes (what a sparse tar member extracts to): 25 hours at 22050 Hz."""
    path = tmp_path / "sparse.wav"
    with open(path, "wb") as f:
        f.write(wav_bytes(rate=SR, data=b"", declared=4_000_000_000))
        f.truncate(44 + 4_000_000_000)
    with pytest.raises(audio.TooLong) as err:
        audio.read(path, sample_rate=SR)
    assert str(err.value) == (
        f"{path}: lasts 25.2 h, over the limit of 20 min for one file: use an excerpt"
    )
    assert numpy_peak(lambda: audio.read(path, sample_rate=SR)) < 1 * MiB


def test_longer_than_the_limit_is_refused_by_its_header(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, noise(3.0), SR)
    with pytest.raises(audio.TooLong) as err:
        audio.read(path, sample_rate=SR, max_seconds=2)
    assert (
        str(err.value) == f"{path}: lasts 3 s, over the limit of 2 s for one file: use an excerpt"
    )
    assert len(audio.read(path, sample_rate=SR, max_seconds=3).samples) == 3 * SR  # at the limit


@pytest.fixture
def frames_read(monkeypatch):
    """The frames every SoundFile.read returned, in order."""
    counts = []
    real = sf.SoundFile.read

    def counting(self, frames=-1, *args, **kwargs):
        data = real(self, frames, *args, **kwargs)
        counts.append(len(data))
        return data

    monkeypatch.setattr(sf.SoundFile, "read", counting)
    return counts


def test_an_mp3_is_bounded_while_decoding_its_length_being_an_estimate(
    tmp_path, frames_read, monkeypatch
):
    """An MP3's header length is not trusted (a VBR file's is an estimate): decoding stops one
    frame past the limit, whatever the file holds."""
    path = tmp_path / "long.mp3"
    sf.write(path, noise(6.0, sr=44100), 44100, format="MP3")
    monkeypatch.setattr(audio, "BLOCK_VALUES", 4096)
    with pytest.raises(audio.TooLong) as err:
        audio.read(path, sample_rate=SR, max_seconds=2)
    assert str(err.value) == (
        f"{path}: lasts more than 2 s, over the limit of 2 s for one file: use an excerpt"
    )
    assert sum(frames_read) == 2 * 44100 + 1  # not the 6 s the file holds


def test_crop_decodes_only_the_first_seconds_and_notes_it(tmp_path, frames_read):
    path = tmp_path / "long.flac"
    sound = np.stack([noise(5.0, sr=44100), noise(5.0, sr=44100, seed=1)], axis=1)
    sf.write(path, sound, 44100, subtype="PCM_16")
    decoded = audio.read(path, sample_rate=SR, max_seconds=2, crop=True)
    assert sum(frames_read) == 2 * 44100 + 1
    assert decoded.cut_at_s == 2
    assert decoded.notes(SR) == [
        "down-mixed from 2 channels", "resampled from 44100 Hz", "cut to its first 2 s"
    ]  # fmt: skip
    first, _ = sf.read(path, frames=2 * 44100, dtype="float32", always_2d=True)
    expected = librosa.resample(first.mean(axis=1), orig_sr=44100, target_sr=SR)
    np.testing.assert_array_equal(decoded.samples, expected)
    short = audio.read(path, sample_rate=SR, max_seconds=10, crop=True)
    assert short.cut_at_s is None and len(short.samples) == 5 * SR


@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (SR, 1), (8000, 3)])
def test_block_decoding_gives_the_same_samples_as_decoding_at_once(
    tmp_path, monkeypatch, rate, channels
):
    """Blocks of a few thousand values, streaming resampler: bit for bit what decoding the
    whole file, down-mixing and librosa.resample give (data/raw and predictions unchanged)."""
    path = tmp_path / "a.flac"
    sound = np.stack([noise(3.0, sr=rate, seed=c) for c in range(channels)], axis=1)
    sf.write(path, sound, rate, subtype="PCM_24")
    monkeypatch.setattr(audio, "BLOCK_VALUES", 3001)
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    whole = data.mean(axis=1) if channels > 1 else data[:, 0]
    if rate != SR:
        whole = librosa.resample(whole, orig_sr=rate, target_sr=SR)
    got = audio.read(path, sample_rate=SR).samples
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, whole)


def test_nan_in_a_late_block_is_refused_with_its_share_of_the_whole_file(tmp_path, monkeypatch):
    path = tmp_path / "nan.wav"
    sound = noise(2.0)
    sound[-10:] = np.nan
    sf.write(path, sound, SR, subtype="FLOAT")
    monkeypatch.setattr(audio, "BLOCK_VALUES", 1000)
    with pytest.raises(GenreError) as err:
        audio.read(path, sample_rate=SR)
    assert str(err.value) == (
        f"{path}: holds NaN or infinite samples ({10 / len(sound):.1%} of them): the file is "
        "corrupt"
    )


@pytest.mark.parametrize(
    ("rate", "channels", "refused"),
    [(192000, 8, False), (192000, 9, True), (44100, 1024, True), (48000, 32, False)],
)
def test_data_a_second_is_bounded_by_rate_times_channels(tmp_path, rate, channels, refused):
    path = tmp_path / "wide.wav"
    path.write_bytes(wav_bytes(rate=rate, channels=channels, data=noise_bytes(channels * 10)))
    if not refused:
        assert len(audio.read(path, sample_rate=SR).samples) == math.ceil(10 * SR / rate)
        return
    with pytest.raises(GenreError) as err:
        audio.read(path, sample_rate=SR)
    assert str(err.value) == (
        f"{path}: {channels} channels at {rate} Hz, more data a second than music holds (at "
        "most 1,536,000 samples, e.g. 8 channels at 192 kHz): down-mix or resample it (e.g. "
        "to stereo at 44100 Hz)"
    )


def test_ten_thousand_channels_are_not_readable_audio(tmp_path):
    path = tmp_path / "many.wav"
    path.write_bytes(wav_bytes(rate=SR, channels=10_000, data=bytes(10_000 * 2)))
    with pytest.raises(GenreError) as err:
        audio.read(path, sample_rate=SR)
    assert str(err.value) == f"{path}: not readable audio (Too many channels specified)"


# --- paths that are not regular files -------------------------------------------------------


def test_a_fifo_is_named_and_never_opened(tmp_path, alarm):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(GenreError) as err:
        audio.read(fifo, sample_rate=SR)
    assert str(err.value) == (
        f"{fifo}: is not a regular file (a FIFO (named pipe)): give the path of an audio file"
    )


def test_a_fifo_swapped_in_after_the_check_does_not_block(tmp_path, alarm, monkeypatch):
    """The open is non-blocking and the opened file is checked again (fstat)."""
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    monkeypatch.setattr(audio, "check_regular_file", printable)
    with pytest.raises(GenreError, match=r"pipe\.wav: is not a regular file \(a FIFO"):
        audio.read(fifo, sample_rate=SR)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_a_device_is_named(device):
    with pytest.raises(GenreError) as err:
        audio.read(device, sample_rate=SR)
    assert str(err.value) == (
        f"{device}: is not a regular file (a device): give the path of an audio file"
    )


def test_other_paths_say_what_they_are(tmp_path):
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    sf.write(tmp_path / "real.wav", noise(1.0), SR)
    (tmp_path / "link.wav").symlink_to(tmp_path / "real.wav")
    cases = {
        "": "'': an empty file name: give the path of an audio file",
        str(tmp_path): f"{tmp_path}: is a folder, not an audio file",
        str(tmp_path / "gone.wav"): f"{tmp_path}/gone.wav: file not found",
        str(tmp_path / "dangling.wav"): f"{tmp_path}/dangling.wav: file not found",
        str(tmp_path / "real.wav" / "x"): f"{tmp_path}/real.wav/x: file not found",
        "a\0b.wav": f"{printable('a' + chr(0) + 'b.wav')}: not a file name (it holds a NUL "
        "character)",
        "x" * 300 + ".wav": f"{'x' * 300}.wav: cannot be read (File name too long): check the path",
    }
    for path, message in cases.items():
        with pytest.raises(GenreError) as err:
            audio.read(path, sample_rate=SR)
        assert str(err.value) == message
    assert len(audio.read(tmp_path / "link.wav", sample_rate=SR).samples) == SR


# --- genre predict and the page -------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """test_predict's project: params.yaml and its described hand-weighted models."""
    root = tmp_path_factory.mktemp("hostile-project")
    (root / "params.yaml").write_text(PARAMS_YAML)
    build_models(root / "models")
    return root


def test_predict_names_each_hostile_input_and_answers_the_good_files(
    capsys, project, tmp_path, alarm
):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    good = tmp_path / "good.wav"
    sf.write(good, noise(4.0), SR)
    slow = hostile_rate_wav(tmp_path / "r8.wav", 8)
    files = [good, fifo, "/dev/null", "", slow, tmp_path / "sub", good]
    (tmp_path / "sub").mkdir()
    code, out, err = run_predict(capsys, project, *files)
    assert code == 1
    assert [entry["file"] for entry in out] == [printable(f) for f in files]
    assert "top" in out[0] and "top" in out[-1]
    assert err == [
        f"error: {fifo}: is not a regular file (a FIFO (named pipe)): give the path of an "
        "audio file",
        "error: /dev/null: is not a regular file (a device): give the path of an audio file",
        "error: '': an empty file name: give the path of an audio file",
        f"error: {slow}: its sample rate is 8 Hz, below 4000 Hz: no music is recorded so (the "
        "header is likely wrong); export the audio again at 22050 Hz or more",
        f"error: {tmp_path}/sub: is a folder, not an audio file",
    ]


def test_predict_max_minutes_refuses_a_longer_song_in_one_line(capsys, project, tmp_path):
    long, at_limit = tmp_path / "long.wav", tmp_path / "limit.wav"
    sf.write(long, noise(4.0), SR)
    sf.write(at_limit, noise(3.0), SR)
    code, out, err = run_predict(capsys, project, long, at_limit, "--max-minutes", "0.05")
    assert code == 1 and "top" in out[1]
    assert err == [
        f"error: {long}: lasts 4 s, over the limit of 3 s for one file: use an excerpt, or "
        "raise --max-minutes"
    ]
    code, out, err = run_predict(capsys, project, long, "--max-minutes", "0")
    assert code == 1 and err == ["error: --max-minutes 0: must be above 0"]


def test_the_page_refuses_a_song_over_its_limit_and_a_hostile_rate(project, tmp_path):
    from genre.app.serve import Service

    service = Service(models_dir=project / "models", max_seconds=3.0)
    long = tmp_path / "long.wav"
    sf.write(long, noise(4.0), SR)
    answer = service.answer(long, "mlp")
    assert not answer.ok
    assert answer.message == (
        "**Could not classify long.wav**: lasts 4 s, over the limit of 3 s for one file: use "
        "an excerpt"
    )
    answer = service.answer(hostile_rate_wav(tmp_path / "r8.wav", 8), "mlp")
    assert answer.message.startswith("**Could not classify r8.wav**: its sample rate is 8 Hz")


def test_file_features_of_an_8_hz_wav_allocate_nothing(tmp_path):
    """What genre predict and the page do before the models: refused at the header (unbounded:
    42 minutes decoded and featurized, 2 GiB)."""
    from genre.app.predict import file_features

    path = hostile_rate_wav(tmp_path / "r8.wav", 8)
    data = DataParams()
    settings = FeatureSettings(data.sample_rate, data.duration_s, FeaturizeParams())
    peak = numpy_peak(lambda: file_features(path, settings=settings))
    assert peak < 1 * MiB
