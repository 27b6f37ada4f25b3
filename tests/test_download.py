"""The download stage: source dispatch, index.csv, all-or-nothing data/raw, one-line errors."""

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from genre import GENRES, audio
from genre.errors import GenreError
from genre.files import md5sum
from genre.sources import dataset

SR = 22050


def write_clip(path: Path, *, seconds=1.0, sample_rate=SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    sf.write(path, 0.5 * np.sin(2 * np.pi * 330 * t), sample_rate, subtype="PCM_16")
    return path


@pytest.fixture
def fake_synthetic(monkeypatch):
    """Stand-in for genre.sources.synthetic: records its arguments, writes 2 clips per genre."""
    calls = []

    def write_synthetic(
        out_dir, *, clips_per_genre, duration_s, sample_rate, seed, n_jobs=0, genres=GENRES
    ):
        calls.append(
            dict(
                out_dir=out_dir,
                clips_per_genre=clips_per_genre,
                duration_s=duration_s,
                sample_rate=sample_rate,
                seed=seed,
            )
        )
        return [
            write_clip(
                out_dir / g / f"{g}.{n:05d}.wav", seconds=duration_s, sample_rate=sample_rate
            )
            for g in genres
            for n in range(clips_per_genre)
        ]

    module = types.ModuleType("genre.sources.synthetic")
    module.write_synthetic = write_synthetic
    monkeypatch.setitem(sys.modules, "genre.sources.synthetic", module)
    return calls


def test_synthetic_source_calls_the_generator_and_indexes_its_clips(fake_synthetic, tmp_path):
    raw = tmp_path / "data" / "raw"
    data = dataset.DataParams(clips_per_genre=2, duration_s=1.5, sample_rate=16000, seed=7)
    text = dataset.download(data, raw)
    (call,) = fake_synthetic
    assert call["out_dir"].parent == raw.parent and call["out_dir"] != raw  # a temporary folder
    assert {k: call[k] for k in ("clips_per_genre", "duration_s", "sample_rate", "seed")} == {
        "clips_per_genre": 2,
        "duration_s": 1.5,
        "sample_rate": 16000,
        "seed": 7,
    }
    index = pd.read_csv(raw / "index.csv", keep_default_na=False)
    assert list(index.columns) == dataset.INDEX_COLUMNS
    assert list(index.track_id) == [f"{g}.0000{n}" for g in GENRES for n in range(2)]
    assert (index.seconds == 1.5).all() and (index.sample_rate == 16000).all()
    assert all(md5sum(raw / p) == m for p, m in zip(index.path, index.md5, strict=True))
    assert list(pd.read_csv(raw / "skipped.csv").columns) == ["path", "reason"]
    assert text.startswith(
        f"{raw}: 20 clips from synthetic (2 clips per genre, seed 7); blues 2, classical 2,"
    )
    assert [p.name for p in raw.parent.iterdir()] == ["raw"]


def test_a_failure_midway_leaves_the_old_data_raw(tmp_path, monkeypatch):
    src = tmp_path / "src"
    for n in range(3):
        write_clip(src / "rock" / f"rock.0000{n}.wav")
    raw = tmp_path / "data" / "raw"
    (raw / "blues").mkdir(parents=True)
    (raw / "index.csv").write_text("old index")
    written = []

    def flaky_write(path, samples, *, sample_rate):
        if written:
            raise GenreError("disk full")
        written.append(path)
        sf.write(path, samples, sample_rate)

    monkeypatch.setattr(audio, "write_wav", flaky_write)
    with pytest.raises(GenreError, match="disk full"):
        dataset.download(dataset.DataParams(source="local", local_path=str(src)), raw)
    assert written and not written[0].exists()  # the half-built folder is gone
    assert sorted(p.name for p in raw.iterdir()) == ["blues", "index.csv"]
    assert (raw / "index.csv").read_text() == "old index"
    assert [p.name for p in raw.parent.iterdir()] == ["raw"]


def run_stage(cwd: Path, data: dict) -> subprocess.CompletedProcess:
    (cwd / "params.yaml").write_text(yaml.safe_dump({"data": data}))
    return subprocess.run(
        [sys.executable, "-m", "genre.stages.download"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"source": "local", "local_path": "nowhere"},
            "error: nowhere: folder not found; data.local_path must name a folder laid out "
            "<genre>/<genre>.<NNNNN>.wav (or .au, .flac, .ogg, .mp3)",
        ),
        (
            {"source": "local", "local_path": "music", "genres": ["blues", "jazz"]},
            "error: data.genres: genre jazz has no clips in music (its genres: blues, foo): "
            "remove it from data.genres, or add jazz/jazz.<NNNNN>.wav clips",
        ),
        (
            {"source": "spotify"},
            "error: params.yaml: data.source must be one of synthetic, gtzan, gtzan-mini, local, "
            "fma; "
            "got 'spotify'",
        ),
    ],
)
def test_stage_errors_are_one_line_and_keep_data_raw(tmp_path, data, message):
    write_clip(tmp_path / "music" / "blues" / "blues.00000.wav")
    write_clip(tmp_path / "music" / "foo" / "foo.00000.wav")
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "index.csv").write_text("old index")
    result = run_stage(tmp_path, data)
    assert result.returncode == 1
    assert result.stderr == message + "\n"
    assert result.stdout == ""
    assert [p.name for p in raw.iterdir()] == ["index.csv"]
    assert [p.name for p in raw.parent.iterdir()] == ["raw"]


def test_stage_runs_as_a_module_and_prints_its_report(tmp_path):
    write_clip(tmp_path / "music" / "genres" / "hiphop" / "hiphop.00004.wav", sample_rate=8000)
    (tmp_path / "music" / "genres" / "hiphop" / "hiphop.00005.wav").write_bytes(b"RIFF....")
    for clip in ("hiphop.00006", "rock.00000", "rock.00001"):  # enough to split by genre
        write_clip(tmp_path / "music" / "genres" / clip.split(".")[0] / f"{clip}.wav")
    result = run_stage(tmp_path, {"source": "local", "local_path": "music"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "data/raw: 4 clips from local folder music; hiphop 2, rock 2",
        "converted 1 clips to mono 22050 Hz: resampled from 8000 Hz (1)",
        "skipped 1 files (listed in data/raw/skipped.csv):",
    ]
    assert len(lines) == 4
    assert lines[3].startswith("  genres/hiphop/hiphop.00005.wav: not readable audio (")
    index = pd.read_csv(tmp_path / "data/raw/index.csv", keep_default_na=False)
    assert index.to_dict("records")[0] | {"md5": None} == {
        "track_id": "hiphop.00004",
        "genre": "hiphop",
        "path": "hiphop/hiphop.00004.wav",
        "seconds": 1.0,
        "sample_rate": SR,
        "md5": None,
        "note": "resampled from 8000 Hz",
    }
