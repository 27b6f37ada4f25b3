"""Audio decoding: formats, down-mixing, resampling and clear errors."""

import numpy as np
import pytest
import soundfile as sf

from genre import audio
from genre.errors import GenreError

SR = 22050


def tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_mono_wav_at_the_target_rate_is_read_as_is(tmp_path):
    path = tmp_path / "a.wav"
    audio.write_wav(path, tone(1.0, SR), sample_rate=SR)
    decoded = audio.read(path, sample_rate=SR)
    assert decoded.samples.dtype == np.float32 and decoded.samples.shape == (SR,)
    assert decoded.notes(SR) == []
    np.testing.assert_allclose(decoded.samples, tone(1.0, SR), atol=1 / 2**15)
    assert sf.info(path).subtype == "PCM_16"


def test_stereo_44k_is_downmixed_and_resampled(tmp_path):
    path = tmp_path / "b.flac"
    left = tone(2.0, 44100, 440.0)
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), 44100)
    decoded = audio.read(path, sample_rate=SR)
    assert decoded.samples.shape == (2 * SR,)
    assert decoded.notes(SR) == ["down-mixed from 2 channels", "resampled from 44100 Hz"]
    # half the left channel's amplitude, same pitch
    assert np.max(np.abs(decoded.samples[1000:-1000])) == pytest.approx(0.25, abs=0.01)
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    assert np.argmax(spectrum) * SR / len(decoded.samples) == pytest.approx(440, abs=1)


def test_au_files_are_read(tmp_path):
    path = tmp_path / "c.au"
    sf.write(path, tone(1.0, SR), SR, format="AU", subtype="PCM_16")
    assert audio.read(path, sample_rate=SR).samples.shape == (SR,)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(GenreError, match=r"missing\.wav: file not found"):
        audio.read(tmp_path / "missing.wav", sample_rate=SR)
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    with pytest.raises(GenreError, match=r"notes\.wav: not readable audio"):
        audio.read(text, sample_rate=SR)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(GenreError, match=r"empty\.wav: holds no audio"):
        audio.read(empty, sample_rate=SR)


def test_fit_length_crops_and_pads():
    x = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(audio.fit_length(x, 3), [0, 1, 2])
    np.testing.assert_array_equal(audio.fit_length(x, 7), [0, 1, 2, 3, 4, 0, 0])


def test_non_audio_with_an_audio_name_says_format_not_recognised(tmp_path, capfd):
    fake = tmp_path / "song.mp3"
    fake.write_bytes(b"hello, not an mp3 at all")
    with pytest.raises(GenreError) as err:
        audio.read(fake, sample_rate=SR)
    assert str(err.value) == f"{fake}: not readable audio (format not recognised)"
    assert capfd.readouterr().err == ""  # the MP3 decoder's resync notes are hidden
