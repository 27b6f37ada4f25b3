"""A fabricated FMA copy through the whole pipeline (`dvc repro` in a temporary git repository)
on FMA's official split, then `genre predict` and `genre listen` on its 6-digit track ids."""

import json

import pandas as pd
import pytest
import soundfile as sf
from fake_fma import ERRATUM, NAMES, clip, write_fma
from tiny_project import command_env, make_project, run  # tests/ is on sys.path under pytest

from genre.sources import fma

GENRES = sorted(NAMES.values())  # hip-hop, old-time-historic, soul-rnb
SECONDS = 3.0
TINY = {
    "augment": {"factor": 2},
    "model": {"units": 8, "layers": 1},
    "train": {"epochs": 2, "batch_size": 16, "patience": 2},
    "split": {"strategy": "official"},
}


@pytest.mark.slow
def test_an_fma_copy_trains_on_its_official_split_and_predicts(tmp_path):
    fake = write_fma(tmp_path / "fma", per_genre=6, seconds=SECONDS)
    data = {"source": "fma", "local_path": str(fake.root), "duration_s": SECONDS}
    repo = make_project(tmp_path / "repo", tiny={**TINY, "data": data}, message="fma")
    output = run(repo, "dvc", "repro")
    assert "18 clips from fma_small (local folder" in output
    assert "valid 6 clips / 3 tracks (early stopping only)" in output

    index = pd.read_csv(repo / "data/raw/index.csv", dtype=str)
    sides = dict(zip(index["track_id"], index["official_split"], strict=True))
    split = pd.read_csv(repo / "data/split/split.csv", dtype=str)
    assert (split["track_id"].map(sides) == split["subset"]).all()  # FMA's side, every clip
    tests = sorted(t for t, side in sides.items() if side == "test")
    assert len(tests) == 3
    for name in ("baseline", "mlp", "rnn", "lstm", "bilstm", "ensemble"):
        frame = pd.read_parquet(repo / f"data/predictions/{name}.parquet")
        assert sorted(frame["track_id"].unique()) == tests  # scored on test only, not valid
        assert [c for c in frame.columns if c.startswith("prob_")] == [f"prob_{g}" for g in GENRES]
    report = json.loads((repo / "metrics/report.json").read_text())
    assert report["test_tracks_per_genre"] == dict.fromkeys(GENRES, 1)
    description = json.loads((repo / "models/ensemble.json").read_text())
    assert description["genres"] == GENRES
    assert description["data"]["source"] == "fma"
    assert description["data"]["local_path"] == str(fake.root)
    skipped = pd.read_csv(repo / "data/raw/skipped.csv", dtype=str)
    assert f"fma_small/099/{ERRATUM}.mp3" in set(skipped["path"])
    assert fma.NO_GENRE in set(skipped["reason"])

    env = command_env(PYTHONPATH=str(repo / "src"))  # this checkout's code, not the install's
    song = tmp_path / "song.mp3"
    sf.write(song, clip(1, 40, seconds=2 * SECONDS, sample_rate=44100), 44100, format="MP3")
    (result,) = json.loads(run(repo, "genre", "predict", str(song), "--json", env=env))
    assert sorted(t["genre"] for t in result["top"]) == GENRES
    assert sum(t["probability"] for t in result["top"]) == pytest.approx(1.0, abs=1e-4)

    manifest = pd.read_csv(repo / "data/augmented/manifest.csv", dtype=str)
    clip_id = manifest.loc[manifest["transform"] != "original", "clip_id"].iloc[0]
    listened = run(repo, "genre", "listen", clip_id, "--out", str(tmp_path / "listen"), env=env)
    assert clip_id in listened and (tmp_path / "listen" / f"{clip_id}.wav").is_file()
