"""Fault battery, data folders (download, source local): bad clips skipped and listed, a folder that
cannot be used refused in ONE line, the previous data/raw intact."""

import errno
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from stage_faults import (
    SR,
    assert_raw_intact,
    clip,
    hidden,
    local_params,
    music_folder,
    one_error,
    project,
    run_module,
    snapshot,
    stage,
)

# --- data folders (download, source local) --------------------------------------------------


@pytest.mark.parametrize(
    ("local_path", "files", "expected"),
    [
        ("nowhere", {}, "nowhere: folder not found; data.local_path must name a folder"),
        ("notes.txt", {"notes.txt": "x"}, "notes.txt: is a file, not a folder"),
        ("empty", {"empty/blues/readme.txt": "no audio here"}, "empty: no audio clips found"),
    ],
    ids=["missing", "a-file", "no-clips"],
)
def test_local_path_without_clips(downloaded, monkeypatch, capsys, local_path, files, expected):
    before = snapshot(downloaded / "data" / "raw")
    for name, text in files.items():
        (downloaded / name).parent.mkdir(parents=True, exist_ok=True)
        (downloaded / name).write_text(text)
    project(downloaded, local_params(local_path))
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(code, err, expected)
    assert_raw_intact(downloaded, before)


def test_every_clip_unreadable(downloaded, monkeypatch, capsys):
    before = snapshot(downloaded / "data" / "raw")
    for genre in ("blues", "rock"):
        (downloaded / "junk" / genre).mkdir(parents=True)
        (downloaded / "junk" / genre / f"{genre}.00000.wav").write_bytes(b"RIFF" + b"\0" * 40)
    project(downloaded, local_params("junk"))
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    line = one_error(code, err, "no readable clips from local folder junk: all 2 files")
    assert "left unchanged" not in line  # under dvc repro it would not be
    assert_raw_intact(downloaded, before)


def test_unreadable_genre_folder_is_refused_not_dropped(downloaded, monkeypatch, capsys):
    """No read permission on music/rock (simulated: chmod cannot stop root): refused, naming
    the folder, rather than a data set with one genre fewer."""
    before = snapshot(downloaded / "data" / "raw")
    real = os.scandir

    def scandir(path="."):
        if isinstance(path, str | os.PathLike) and Path(path).name == "rock":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(code, err, "music/rock: cannot read this folder (Permission denied)", "chmod")
    monkeypatch.setattr(os, "scandir", real)
    assert_raw_intact(downloaded, before)


def test_bad_clips_are_skipped_and_listed_the_rest_imported(tmp_path, monkeypatch, capsys):
    """Corrupt, empty, non-audio, NaN and 1e30 float clips beside good ones are skipped; a
    truncated one that still decodes is kept and listed as suspicious."""
    music = music_folder(tmp_path / "music")
    (music / "blues" / "blues.00010.wav").write_bytes(b"")
    (music / "blues" / "blues.00011.wav").write_text("this is a text file, not audio\n" * 20)
    good = (music / "rock" / "rock.00000.wav").read_bytes()
    (music / "rock" / "rock.00012.wav").write_bytes(good[:100])
    nan = np.full(SR * 3, np.nan, dtype=np.float32)
    sf.write(music / "jazz" / "jazz.00013.wav", nan, SR, subtype="FLOAT")
    huge = np.full(SR * 3, 1e30, dtype=np.float32)
    sf.write(music / "jazz" / "jazz.00014.wav", huge, SR, subtype="FLOAT")
    project(tmp_path, local_params("music"))
    code, out, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0 and err == [], err
    skipped = pd.read_csv(tmp_path / "data/raw/skipped.csv")
    reasons = dict(zip(skipped["path"], skipped["reason"], strict=True))
    assert sorted(reasons) == [
        "blues/blues.00010.wav",
        "blues/blues.00011.wav",
        "jazz/jazz.00013.wav",
        "jazz/jazz.00014.wav",
    ]
    assert "not readable audio" in reasons["blues/blues.00010.wav"]
    assert "not readable audio" in reasons["blues/blues.00011.wav"]
    assert "NaN or infinite samples" in reasons["jazz/jazz.00013.wav"]
    assert "beyond the format's range" in reasons["jazz/jazz.00014.wav"]
    assert "skipped 4 files" in out
    index = pd.read_csv(tmp_path / "data/raw/index.csv")
    assert len(index) == 7
    suspicious = pd.read_csv(tmp_path / "data/raw/suspicious.csv")
    assert suspicious["track_id"].tolist() == ["rock.00012"]
    assert "far from the set's median 3 s" in suspicious["reason"][0]


def test_other_formats_rates_channels_and_kaggle_nesting(tmp_path, monkeypatch, capsys):
    """FLAC, OGG, MP3, AU and WAV; 44.1 kHz stereo; under genres_original/<genre>/."""
    root = tmp_path / "Data" / "genres_original"
    clip(root / "blues" / "blues.00000.flac", fmt="FLAC")
    clip(root / "blues" / "blues.00001.ogg", fmt="OGG", subtype="VORBIS")
    clip(root / "rock" / "rock.00000.mp3", fmt="MP3", subtype="MPEG_LAYER_III")
    clip(root / "rock" / "rock.00001.au", fmt="AU")
    clip(root / "rock" / "rock.00002.wav", sr=44100, channels=2)
    project(tmp_path, local_params("Data"))
    code, out, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0, err
    index = pd.read_csv(tmp_path / "data/raw/index.csv", keep_default_na=False)
    assert sorted(index["track_id"]) == [
        "blues.00000",
        "blues.00001",
        "rock.00000",
        "rock.00001",
        "rock.00002",
    ]
    notes = dict(zip(index["track_id"], index["note"], strict=True))
    assert notes["rock.00002"] == "down-mixed from 2 channels; resampled from 44100 Hz"


def test_non_utf8_file_name_is_listed_not_a_crash(tmp_path):
    """Run as a subprocess: printing such a name is where a UnicodeEncodeError would come."""
    music = music_folder(tmp_path / "music")
    bad = os.fsencode(music / "rock") + b"/rock.0000\xff.wav"
    with open(bad, "wb") as f:
        f.write((music / "rock" / "rock.00000.wav").read_bytes())
    bad_folder = os.fsencode(music) + b"/caf\xe9"
    os.mkdir(bad_folder)
    with open(bad_folder + b"/jazz.00009.wav", "wb") as f:
        f.write((music / "jazz" / "jazz.00000.wav").read_bytes())
    project(tmp_path, local_params("music"))
    result = run_module("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "rock/rock.0000\\xff.wav: file or folder name is not valid UTF-8" in result.stdout
    assert "caf\\xe9/jazz.00009.wav: file or folder name is not valid UTF-8" in result.stdout
    skipped = pd.read_csv(tmp_path / "data/raw/skipped.csv")
    assert len(skipped) == 2


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ({"blues": 4}, "only 1 genre (blues) in 4 clips"),
        ({"blues": 3, "rock": 1}, "genre rock has only 1 track"),
    ],
    ids=["one-genre", "lonely-genre"],
)
def test_data_set_that_cannot_be_split_is_refused(
    downloaded, monkeypatch, capsys, layout, expected
):
    before = snapshot(downloaded / "data" / "raw")
    for genre, n in layout.items():
        for i in range(n):
            clip(downloaded / "small" / genre / f"{genre}.{i:05d}.wav")
    project(downloaded, local_params("small"))
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    line = one_error(code, err, expected)
    assert "data.local_path" in line or "split.test_size" in line
    assert_raw_intact(downloaded, before)


def test_synthetic_with_one_clip_per_genre_names_the_param(tmp_path, monkeypatch, capsys):
    project(tmp_path, "data:\n  clips_per_genre: 1\n  duration_s: 1\n")
    code, _, err = stage("download", tmp_path, monkeypatch, capsys)
    one_error(code, err, "has only 1 track", "raise data.clips_per_genre")
    assert not (tmp_path / "data" / "raw").exists() and hidden(tmp_path) == []


def test_suspicious_clips_are_kept_and_listed(tmp_path, monkeypatch, capsys):
    music = music_folder(tmp_path / "music")
    clip(music / "rock" / "rock.00005.wav", amplitude=3.0)  # clipped at full scale
    clip(music / "blues" / "blues.00005.wav", amplitude=1e-5)  # -100 dB: silence
    clip(music / "jazz" / "jazz.00005.wav", seconds=0.8)  # far shorter than the others
    project(tmp_path, local_params("music"))
    code, out, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0, err
    suspicious = pd.read_csv(tmp_path / "data/raw/suspicious.csv")
    reasons = dict(zip(suspicious["track_id"], suspicious["reason"], strict=True))
    assert sorted(reasons) == ["blues.00005", "jazz.00005", "rock.00005"]
    assert reasons["rock.00005"].startswith("clipped: ")
    assert "silent" in reasons["blues.00005"]
    assert reasons["jazz.00005"] == "0.8 s long, far from the set's median 3 s"
    assert "suspicious 3 clips, kept (listed in data/raw/suspicious.csv)" in out
    index = pd.read_csv(tmp_path / "data/raw/index.csv")
    assert len(index) == 9 and list(index.columns) == [
        "track_id",
        "genre",
        "path",
        "seconds",
        "sample_rate",
        "md5",
        "note",
    ]
