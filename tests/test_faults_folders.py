"""Fault battery, hostile data folders (issue 20): nothing under data.local_path is dropped
silently (every visible file not imported is in skipped.csv with its reason, names shown
printable), a clip's decoding is bounded (a 2 Hz header is refused, not turned into 421 MB of
data/raw; a long clip is cut to its first MAX_CLIP_S), and a failed download leaves the
previous data/raw as it was."""

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from test_faults_audio import hostile_rate_wav
from test_local import run_local, write_clip

from genre import audio
from genre.errors import GenreError, printable
from genre.params import DataParams
from genre.sources import local

SR = 22050
ROOT = Path(__file__).resolve().parents[1]
GTZAN_MINI = ROOT.parent / "shared" / "gtzan-mini"


def visible_files(root: Path) -> set[str]:
    """Every file a user sees under root (not hidden, not macOS metadata), relative."""
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        found |= {
            Path(folder, f).relative_to(root).as_posix() for f in files if not f.startswith(".")
        }
    return found


def accounted_for(root: Path, raw: Path) -> None:
    """Every visible file under root is imported (index.csv) or listed (skipped.csv)."""
    index = pd.read_csv(raw / "index.csv", keep_default_na=False)
    skipped = pd.read_csv(raw / "skipped.csv", keep_default_na=False)
    imported = {Path(p).name.rsplit(".", 1)[0] for p in index.path}
    listed = set(skipped.path)
    for rel in visible_files(root):
        stem = Path(rel).name.rsplit(".", 1)[0].lower()
        assert stem in imported or printable(rel) in listed, rel


def test_names_with_a_newline_are_listed_not_dropped(tmp_path):
    src = tmp_path / "src"
    for n in range(2):
        write_clip(src / "rock" / f"rock.0000{n}.wav")
    for name in ("rock/rock.00005.wav\n", "jazz\n/jazz.00001.wav", "rock/rock.00006\t.wav"):
        clip = write_clip(tmp_path / "clip.wav")
        (src / name).parent.mkdir(exist_ok=True)
        clip.rename(src / name)
    raw = tmp_path / "raw"
    index, text = run_local(src, raw)
    assert list(index.track_id) == ["rock.00000", "rock.00001"]
    skipped = pd.read_csv(raw / "skipped.csv", keep_default_na=False)
    assert sorted(zip(skipped.path, skipped.reason, strict=True)) == sorted(
        (printable(name), local.CONTROL_CHARACTER)
        for name in ("jazz\n/jazz.00001.wav", "rock/rock.00005.wav\n", "rock/rock.00006\t.wav")
    )
    assert f"  {printable('rock/rock.00005.wav' + chr(10))}: {local.CONTROL_CHARACTER}" in text
    accounted_for(src, raw)


def test_non_audio_files_are_listed_and_summed_up_in_one_line(tmp_path):
    """What a GTZAN, Kaggle or mirdata folder holds beside its clips: all in skipped.csv, one
    report line for them; the clips' own problems each get their line."""
    src = tmp_path / "Data"
    for n in range(2):
        write_clip(src / "genres_original" / "blues" / f"blues.0000{n}.wav")
    (src / "genres_original" / "blues" / "blues.00002.wav").write_bytes(b"RIFF")
    (src / "README.md").write_text("GTZAN\n")
    (src / "genres_original" / "blues.mf").write_text("blues/blues.00000.wav\tblues\n")
    (src / "features_30_sec.csv").write_text("filename,label\n")
    (src / "images_original" / "blues").mkdir(parents=True)
    (src / "images_original" / "blues" / "blues00000.png").write_bytes(b"\x89PNG")
    (src / ".DS_Store").write_bytes(b"hidden: not listed")
    raw = tmp_path / "raw"
    _, text = run_local(src, raw)
    skipped = pd.read_csv(raw / "skipped.csv", keep_default_na=False)
    not_audio = [
        "README.md",
        "features_30_sec.csv",
        "genres_original/blues.mf",
        "images_original/blues/blues00000.png",
    ]
    assert list(skipped.path) == [*not_audio, "genres_original/blues/blues.00002.wav"]
    assert list(skipped.reason[:4]) == [local.NOT_AUDIO] * 4
    assert skipped.reason[4].startswith("not readable audio")
    assert "skipped 5 files" in text
    assert "  genres_original/blues/blues.00002.wav: not readable audio" in text
    assert (
        "  4 files not audio by their names (README.md, features_30_sec.csv, "
        "genres_original/blues.mf, ...)" in text
    )
    accounted_for(src, raw)


def test_a_link_to_a_folder_is_listed(tmp_path):
    src, elsewhere = tmp_path / "src", tmp_path / "elsewhere"
    for n in range(2):
        write_clip(src / "pop" / f"pop.0000{n}.wav")
    write_clip(elsewhere / "disco" / "disco.00000.wav")
    (src / "disco").symlink_to(elsewhere / "disco")
    index, _ = run_local(src, tmp_path / "raw")
    assert list(index.genre) == ["pop", "pop"]
    skipped = pd.read_csv(tmp_path / "raw" / "skipped.csv")
    assert list(zip(skipped.path, skipped.reason, strict=True)) == [("disco", local.FOLDER_LINK)]


def test_hostile_rates_and_a_fifo_in_a_data_folder_are_skipped_and_listed(tmp_path):
    """Unbounded, the 2 Hz clip became 421 MB in data/raw; the FIFO must not block."""
    src = tmp_path / "src"
    for n in range(2):
        write_clip(src / "rock" / f"rock.0000{n}.wav")
    for n, rate in ((2, 2), (3, 8), (4, 3999)):
        hostile_rate_wav(src / "rock" / f"rock.0000{n}.wav", rate)
    os.mkfifo(src / "rock" / "rock.00007.wav")
    raw = tmp_path / "raw"
    signal.alarm(20)  # a FIFO opened for reading would hang the test: fail it instead
    try:
        index, text = run_local(src, raw)
    finally:
        signal.alarm(0)
    assert list(index.track_id) == ["rock.00000", "rock.00001"]
    skipped = pd.read_csv(raw / "skipped.csv")
    assert list(skipped.path) == [f"rock/rock.0000{n}.wav" for n in (2, 3, 4, 7)]
    for reason, rate in zip(skipped.reason[:3], (2, 8, 3999), strict=True):
        assert reason.startswith(f"its sample rate is {rate} Hz, below 4000 Hz")
    assert skipped.reason[3] == (
        "is not a regular file (a FIFO (named pipe)): give the path of an audio file"
    )
    assert sum(p.stat().st_size for p in raw.rglob("*") if p.is_file()) < 1_000_000
    accounted_for(src, raw)


def test_a_long_clip_is_cut_to_its_first_seconds_decoding_no_more(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_clip(src / "drone" / "drone.00000.wav", seconds=5.0, sample_rate=44100)
    write_clip(src / "drone" / "drone.00001.wav", seconds=1.0)
    read = []
    real = sf.SoundFile.read
    monkeypatch.setattr(
        sf.SoundFile, "read", lambda self, *a, **k: read.append(r := real(self, *a, **k)) or r
    )
    out = tmp_path / "raw"
    imported = local.import_folder(src, out, sample_rate=SR, max_seconds=2.0)
    assert imported.notes == {
        "drone.00000": "resampled from 44100 Hz; cut to its first 2 s",
        "drone.00001": "",
    }
    assert sf.info(out / "drone" / "drone.00000.wav").frames == 2 * SR
    assert sum(len(r) for r in read) == (2 * 44100 + 1) + SR  # the long clip: 2 s and a frame


def test_the_clip_bound_is_the_longest_duration_a_clip_setting_uses():
    """featurize uses a clip's first data.duration_s: MAX_CLIP_S must not cut below any."""
    assert DataParams(duration_s=local.MAX_CLIP_S).duration_s == local.MAX_CLIP_S
    with pytest.raises(GenreError, match=r"data\.duration_s must be <= 600"):
        DataParams(duration_s=local.MAX_CLIP_S + 0.1)


def test_a_failed_download_keeps_the_previous_data_raw_and_names_a_clips_reason(tmp_path):
    src = tmp_path / "src"
    (src / "rock").mkdir(parents=True)
    (src / "README.md").write_text("first in order, but not the example")
    hostile_rate_wav(src / "rock" / "rock.00000.wav", 8)
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "index.csv").write_text("old")
    with pytest.raises(GenreError) as err:
        run_local(src, raw)
    assert str(err.value) == (
        f"no readable clips from local folder {src}: all 2 files were skipped (e.g. "
        "rock/rock.00000.wav: its sample rate is 8 Hz, below 4000 Hz: no music is recorded so "
        "(the header is likely wrong); export the audio again at 22050 Hz or more)"
    )
    assert (raw / "index.csv").read_text() == "old"
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["raw"]


def test_a_stereo_clip_imports_the_same_samples_as_before(tmp_path):
    """Block decoding changes no byte of data/raw: the clip is what decoding at once, down-
    mixing and librosa.resample give."""
    import librosa

    src = tmp_path / "src"
    rng = np.random.default_rng(3)
    sound = np.clip(0.3 * rng.standard_normal((3 * 44100, 2)), -1, 1)
    (src / "pop").mkdir(parents=True)
    sf.write(src / "pop" / "pop.00000.flac", sound, 44100, subtype="PCM_16")
    write_clip(src / "pop" / "pop.00001.wav")
    run_local(src, tmp_path / "raw")
    data, _ = sf.read(src / "pop" / "pop.00000.flac", dtype="float32")
    expected = librosa.resample(data.mean(axis=1), orig_sr=44100, target_sr=SR)
    audio.write_wav(tmp_path / "expected.wav", expected, sample_rate=SR)
    written = tmp_path / "raw" / "pop" / "pop.00000.wav"
    assert written.read_bytes() == (tmp_path / "expected.wav").read_bytes()


def test_gtzan_minis_readme_and_md5sums_are_the_only_files_listed():
    if not GTZAN_MINI.is_dir():
        pytest.skip(f"real gtzan-mini not found at {GTZAN_MINI}")
    clips, skipped = local.find_clips(GTZAN_MINI)
    assert len(clips) == 100
    assert skipped == [("MD5SUMS", local.NOT_AUDIO), ("README.md", local.NOT_AUDIO)]
