"""Any genre set: a local folder of made-up genres goes through the whole pipeline (`dvc repro`
in a temporary git repository), and `genre predict` names those genres."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from tiny_project import make_project, run  # tests/ is on sys.path under pytest

from genre.errors import GenreError
from genre.files import md5sum
from genre.params import DataParams
from genre.sources import dataset
from genre.sources.local import Imported

SR = 22050
SECONDS = 3.0
GENRES = ("chiptune", "drone", "polka")  # made up: none of them is a GTZAN genre
TRACKS_PER_GENRE = 6  # 18 tracks: 4 test (at least one per genre), 14 train
TINY = {
    "augment": {"factor": 2},
    "model": {"units": 8, "layers": 1},
    "train": {"epochs": 2, "batch_size": 16, "patience": 2},
}


def clip(genre: str, number: int) -> np.ndarray:
    """A short clip that sounds like its made-up genre, different for every track."""
    rng = np.random.default_rng([len(genre), number])
    t = np.arange(int(SR * SECONDS)) / SR
    root = 2 ** (rng.integers(0, 12) / 12)
    if genre == "chiptune":  # a square-wave arpeggio, 8 notes a second
        steps = np.array([0, 4, 7, 12])[(t * 8).astype(int) % 4]
        y = 0.3 * np.sign(np.sin(2 * np.pi * np.cumsum(440 * root * 2 ** (steps / 12)) / SR))
    elif genre == "drone":  # a low fifth, swelling slowly
        f = 55 * root
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t)
        y = 0.4 * swell * (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 1.5 * f * t))
    elif genre == "polka":  # oom-pah: bass on the beat, a chord off it, 4 a second
        f = 110 * root
        decay = np.exp(-8 * ((t * 4) % 1))
        bass = np.sin(2 * np.pi * f * t)
        chord = sum(np.sin(2 * np.pi * 2 * f * r * t) for r in (1, 1.26, 1.5)) / 3
        y = 0.4 * decay * np.where((t * 4).astype(int) % 2 == 0, bass, chord)
    else:  # anything else: filtered noise
        y = 0.2 * np.convolve(rng.standard_normal(len(t)), np.ones(8) / 8, mode="same")
    return (y + 0.01 * rng.standard_normal(len(t))).astype("float32")


def write_collection(folder: Path, genres, *, tracks: int) -> None:
    """<genre>/<genre>.<NNNNN>.wav|flac, as a user's own collection would be laid out."""
    for g, genre in enumerate(genres):
        (folder / genre).mkdir(parents=True)
        for n in range(tracks):
            suffix = ".flac" if (g + n) % 2 else ".wav"  # any format libsndfile reads
            sf.write(folder / genre / f"{genre}.{n:05d}{suffix}", clip(genre, n), SR)


def test_data_genres_selects_synthetic_genres_whose_clips_stay_the_same(tmp_path):
    from genre.sources.synthetic import write_synthetic

    data = DataParams(genres=["rock", "blues"], clips_per_genre=2, duration_s=1.0, seed=3)
    text = dataset.download(data, tmp_path / "raw")
    index = pd.read_csv(tmp_path / "raw/index.csv")
    assert list(index["track_id"]) == ["blues.00000", "blues.00001", "rock.00000", "rock.00001"]
    assert "4 clips from synthetic" in text and "blues 2, rock 2" in text
    alone = write_synthetic(
        tmp_path / "alone",
        clips_per_genre=2,
        duration_s=1.0,
        sample_rate=22050,
        seed=3,
        n_jobs=1,
        genres=("rock",),
    )
    assert [md5sum(p) for p in alone] == list(index["md5"][2:])


def test_a_gtzan_download_keeps_the_selected_genres_and_refuses_other_genres(tmp_path):
    out = tmp_path / "raw"  # as a download writes it: <genre>/<genre>.<NNNNN>.wav
    for genre in ("blues", "jazz", "rock"):
        (out / genre).mkdir(parents=True)
        for n in range(2):
            sf.write(out / genre / f"{genre}.0000{n}.wav", clip(genre, n), SR)
    notes = {f"{g}.0000{n}": "" for g in ("blues", "jazz", "rock") for n in range(2)}
    kept = dataset.keep_genres(out, Imported(notes=notes), ("blues", "rock"), source="gtzan")
    assert sorted(p.name for p in out.iterdir()) == ["blues", "rock"]
    assert kept.left_out == {"jazz": 2} and sorted(kept.notes) == [
        "blues.00000",
        "blues.00001",
        "rock.00000",
        "rock.00001",
    ]
    write_collection(out, ["polka"], tracks=1)
    with pytest.raises(GenreError) as err:
        dataset.keep_genres(out, Imported(), ("blues", "rock"), source="gtzan-mini")
    assert str(err.value) == (
        "gtzan-mini: the download holds clips of genres that are not GTZAN's (polka): it is not "
        "GTZAN; for a collection of your own genres, use data.source: local"
    )


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git + DVC repository with the project's pipeline and code, on a local folder of 3
    made-up genres (and a 4th genre that data.genres leaves out)."""
    music = tmp_path / "my music"
    write_collection(music, GENRES, tracks=TRACKS_PER_GENRE)
    write_collection(music, ["lo-fi"], tracks=2)
    data = dict(source="local", local_path=str(music), genres=list(GENRES), duration_s=SECONDS)
    return make_project(
        tmp_path / "repo", tiny={**TINY, "data": data}, message="a collection of made-up genres"
    )


@pytest.mark.slow
def test_a_local_folder_of_made_up_genres_trains_and_predicts(repo, tmp_path):
    output = run(repo, "dvc", "repro")
    assert "chiptune 6, drone 6, polka 6" in output
    assert "left out by data.genres: lo-fi (2 clips)" in output
    index = pd.read_csv(repo / "data/raw/index.csv")
    assert sorted(set(index["genre"])) == list(GENRES)

    for name in ("baseline", "mlp", "rnn", "lstm", "bilstm", "ensemble"):
        frame = pd.read_parquet(repo / f"data/predictions/{name}.parquet")
        assert [c for c in frame.columns if c.startswith("prob_")] == [f"prob_{g}" for g in GENRES]
        assert set(frame["predicted"]) <= set(GENRES)
    for model in ("mlp", "rnn", "lstm", "bilstm", "ensemble"):
        description = json.loads((repo / f"models/{model}.json").read_text())
        assert description["genres"] == list(GENRES)
    report = json.loads((repo / "metrics/report.json").read_text())
    assert list(report["test_tracks_per_genre"]) == list(GENRES)
    assert all(n >= 1 for n in report["test_tracks_per_genre"].values())
    assert list(report["ensemble"]["test"]["recall"]) == list(GENRES)

    song = tmp_path / "song.wav"
    sf.write(song, np.concatenate([clip("polka", 99), clip("polka", 98)]), SR)
    (result,) = json.loads(run(repo, "genre", "predict", str(song), "--json"))
    assert sorted(t["genre"] for t in result["top"]) == list(GENRES)  # the 3, and only them
    assert sum(t["probability"] for t in result["top"]) == pytest.approx(1.0, abs=1e-4)
    line = run(repo, "genre", "predict", str(song)).strip()
    assert line.startswith(f"{song}: ") and all(g in line for g in GENRES)
