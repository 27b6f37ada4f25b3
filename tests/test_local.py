"""The `local` source: GTZAN-named clips in a folder become data/raw's layout."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genre.errors import GenreError
from genre.files import md5sum
from genre.sources import dataset, local

SR = 22050


def write_clip(path: Path, *, seconds=1.0, sample_rate=SR, channels=1, freq=440.0) -> Path:
    """A sine clip (WAV or AU by suffix), the same tone in every channel."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = 0.5 * np.sin(2 * np.pi * freq * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.repeat(tone[:, None], channels, axis=1), sample_rate, subtype="PCM_16")
    return path


def run_local(folder: Path, raw: Path, *, sample_rate=SR, genres=None) -> tuple[pd.DataFrame, str]:
    data = dataset.DataParams(
        source="local", local_path=str(folder), sample_rate=sample_rate, genres=genres
    )
    text = dataset.download(data, raw)
    return pd.read_csv(raw / "index.csv", keep_default_na=False, dtype={"track_id": str}), text


def test_gtzan_layout_with_wav_and_au(tmp_path):
    src = tmp_path / "genres"
    write_clip(src / "blues" / "blues.00000.au", seconds=2.0)
    write_clip(src / "rock" / "rock.00012.wav")
    write_clip(src / "blues" / "blues.00001.wav")
    (src / "blues.mf").write_text("list\n")
    index, text = run_local(tmp_path, tmp_path / "raw")
    assert list(index.track_id) == ["blues.00000", "blues.00001", "rock.00012"]
    assert list(index.path) == [
        "blues/blues.00000.wav",
        "blues/blues.00001.wav",
        "rock/rock.00012.wav",
    ]
    assert list(index.seconds) == [2.0, 1.0, 1.0]
    assert (index.note == "").all()
    assert "3 clips from local folder" in text and "blues 2, rock 1" in text


def test_kaggle_genres_original_layout(tmp_path):
    kaggle = tmp_path / "Data"
    write_clip(kaggle / "genres_original" / "jazz" / "jazz.00007.wav")
    (kaggle / "images_original" / "jazz").mkdir(parents=True)
    (kaggle / "images_original" / "jazz" / "jazz00007.png").write_bytes(b"\x89PNG")
    (kaggle / "features_30_sec.csv").write_text("filename,label\njazz.00007.wav,jazz\n")
    index, _ = run_local(kaggle, tmp_path / "raw")
    assert list(index.track_id) == ["jazz.00007"]
    assert (tmp_path / "raw" / "jazz" / "jazz.00007.wav").is_file()


def test_stereo_44k_clip_is_downmixed_resampled_and_noted(tmp_path):
    write_clip(
        tmp_path / "src" / "pop" / "pop.00001.wav",
        seconds=1.5,
        sample_rate=44100,
        channels=2,
        freq=1000.0,
    )
    write_clip(tmp_path / "src" / "pop" / "pop.00002.wav")
    raw = tmp_path / "raw"
    index, text = run_local(tmp_path / "src", raw)
    assert list(index.note) == ["down-mixed from 2 channels; resampled from 44100 Hz", ""]
    info = sf.info(raw / "pop" / "pop.00001.wav")
    assert (info.channels, info.samplerate, info.subtype) == (1, SR, "PCM_16")
    assert info.frames == int(1.5 * SR)
    samples, _ = sf.read(raw / "pop" / "pop.00001.wav")
    peak_hz = np.argmax(np.abs(np.fft.rfft(samples))) * SR / len(samples)
    assert abs(peak_hz - 1000.0) < 2  # the tone survives resampling
    assert "converted 1 clips to mono 22050 Hz" in text
    assert "down-mixed from 2 channels (1), resampled from 44100 Hz (1)" in text


def test_truncated_wavs_are_skipped_listed_and_the_rest_kept(tmp_path):
    src = tmp_path / "src"
    good = write_clip(src / "jazz" / "jazz.00053.wav")
    whole = good.read_bytes()
    (src / "jazz" / "jazz.00054.wav").write_bytes(whole[:20])  # header cut short
    (src / "jazz" / "jazz.00055.wav").write_bytes(whole[:44])  # header only, no samples
    write_clip(src / "jazz" / "my song.wav")  # not a GTZAN name
    raw = tmp_path / "raw"
    index, text = run_local(src, raw)
    assert list(index.track_id) == ["jazz.00053"]
    skipped = pd.read_csv(raw / "skipped.csv")
    assert list(skipped.path) == ["jazz/my song.wav", "jazz/jazz.00054.wav", "jazz/jazz.00055.wav"]
    assert skipped.reason[1].startswith("not readable audio (")
    assert skipped.reason[2] == "holds no audio samples"
    assert "skipped 3 files" in text
    assert "  jazz/jazz.00054.wav: not readable audio" in text
    assert not (raw / "jazz" / "jazz.00054.wav").exists()


def test_hidden_and_macos_files_are_ignored(tmp_path):
    src = tmp_path / "src"
    write_clip(src / "metal" / "metal.00000.wav")
    (src / "__MACOSX" / "metal").mkdir(parents=True)
    (src / "__MACOSX" / "metal" / "._metal.00000.wav").write_bytes(b"junk")
    (src / "metal" / "._metal.00001.wav").write_bytes(b"junk")
    index, _ = run_local(src, tmp_path / "raw")
    assert list(index.track_id) == ["metal.00000"]
    assert pd.read_csv(tmp_path / "raw" / "skipped.csv").empty


def test_all_clips_unreadable_is_an_error_and_writes_nothing(tmp_path):
    src = tmp_path / "src"
    (src / "disco").mkdir(parents=True)
    (src / "disco" / "disco.00000.wav").write_bytes(b"RIFF")
    raw = tmp_path / "data" / "raw"
    with pytest.raises(
        GenreError,
        match=r"no readable clips from local folder .*: all 1 files "
        r"were skipped \(e\.g\. disco/disco\.00000\.wav: not readable audio",
    ):
        run_local(src, raw)
    assert not raw.exists() and list((tmp_path / "data").iterdir()) == []


def test_folder_without_audio(tmp_path):
    (tmp_path / "blues").mkdir()
    (tmp_path / "blues" / "notes.txt").write_text("nothing here")
    with pytest.raises(
        GenreError,
        match=r": no audio clips found; expected files laid out "
        r"<genre>/<genre>\.<NNNNN>\.wav",
    ):
        local.find_clips(tmp_path)


def test_any_genre_names_are_the_data_sets_genres_sorted(tmp_path):
    """Genres are the clips' names, not GTZAN's: any folder of made-up genres, any case."""
    src = tmp_path / "mine"
    write_clip(src / "polka" / "polka.00001.flac", freq=300.0)
    write_clip(src / "chiptune" / "Chiptune.00002.au", freq=600.0)
    write_clip(src / "chiptune" / "chiptune.00001.wav")
    write_clip(src / "post-rock_2" / "post-rock_2.00000.wav")
    index, text = run_local(src, tmp_path / "raw")
    assert list(index.genre) == ["chiptune", "chiptune", "polka", "post-rock_2"]
    assert list(index.track_id) == [
        "chiptune.00001",
        "chiptune.00002",
        "polka.00001",
        "post-rock_2.00000",
    ]
    assert "4 clips from local folder" in text
    assert "chiptune 2, polka 1, post-rock_2 1" in text


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("hip hop", "hip-hop/hip-hop.00003.wav"),
        ("hip.hop", "hip-hop/hip-hop.00003.wav"),
        ("80s", "genre-80s/genre-80s.00003.wav"),
        ("nan", "genre-nan/genre-nan.00003.wav"),
    ],
)
def test_a_genre_name_that_is_not_one_is_refused_in_one_line(tmp_path, name, fix):
    write_clip(tmp_path / "blues" / "blues.00000.wav")
    bad = write_clip(tmp_path / name / f"{name}.00003.wav")
    with pytest.raises(GenreError) as err:
        local.find_clips(tmp_path)
    assert str(err.value) == (
        f"{bad}: genre name {name!r} is not usable (a lowercase letter, then lowercase letters, "
        f"digits, - or _): rename the genre's folder and files, e.g. {fix}"
    )


def test_data_genres_selects_genres_and_names_one_missing(tmp_path):
    src = tmp_path / "mine"
    for genre in ("chiptune", "drone", "polka"):
        for n in range(2):
            write_clip(src / genre / f"{genre}.{n:05d}.wav")
    raw = tmp_path / "raw"
    index, text = run_local(src, raw, genres=("polka", "chiptune"))
    assert sorted(set(index.genre)) == ["chiptune", "polka"]
    assert sorted(p.name for p in raw.iterdir() if p.is_dir()) == ["chiptune", "polka"]
    assert "left out by data.genres: drone (2 clips)" in text
    with pytest.raises(GenreError) as err:
        run_local(src, tmp_path / "raw2", genres=("drone", "zydeco"))
    assert str(err.value) == (
        f"data.genres: genre zydeco has no clips in {src} (its genres: chiptune, drone, polka): "
        "remove it from data.genres, or add zydeco/zydeco.<NNNNN>.wav clips"
    )
    assert not (tmp_path / "raw2").exists()


def test_missing_folder(tmp_path):
    with pytest.raises(GenreError, match=r"nowhere: folder not found; data\.local_path must"):
        local.find_clips(tmp_path / "nowhere")


def test_the_same_track_twice_is_an_error(tmp_path):
    write_clip(tmp_path / "a" / "reggae.00001.wav")
    write_clip(tmp_path / "b" / "reggae.00001.au")
    with pytest.raises(GenreError, match=r"track reggae\.00001 is also in .*; keep one"):
        local.find_clips(tmp_path)


def test_real_gtzan_sample(gtzan_sample, tmp_path):
    raw = tmp_path / "raw"
    index, _ = run_local(gtzan_sample, raw)
    assert len(index) == 10
    assert sorted(index.genre) == sorted(dataset.GENRES)
    assert (index.sample_rate == SR).all()
    assert index.seconds.between(29.0, 31.0).all()
    assert (index.note == "").all()  # GTZAN is already mono 22050 Hz
    for row in index.itertuples():
        assert md5sum(raw / row.path) == row.md5
        assert sf.info(raw / row.path).channels == 1
    assert pd.read_csv(raw / "skipped.csv").empty
