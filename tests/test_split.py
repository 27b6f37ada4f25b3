"""Train/test split: by track (no leak), by clip (the leak), and GTZAN's filtered lists."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from genre import GENRES
from genre.errors import GenreError
from genre.features.augment import build_manifest
from genre.params import AugmentParams, SplitParams
from genre.split import assign, filtered_lists, summarize
from genre.stages import split as stage


def make_clips(per_genre: int = 100, factor: float = 7.02) -> pd.DataFrame:
    """Clips of a simulated index in GTZAN naming (blues.00000 ...), as augment makes them."""
    index = pd.DataFrame(
        [(f"{g}.{i:05d}", g) for g in GENRES for i in range(per_genre)],
        columns=["track_id", "genre"],
    )
    return build_manifest(index, params=AugmentParams(factor=factor))


@pytest.fixture(scope="module")
def clips() -> pd.DataFrame:
    return make_clips()


def sides_per_track(split: pd.DataFrame) -> pd.Series:
    return split[split["subset"] != "excluded"].groupby("track_id")["subset"].nunique()


def test_track_split_keeps_every_song_on_one_side(clips):
    split = assign(clips, params=SplitParams(strategy="track", test_size=0.2))
    assert sides_per_track(split).max() == 1
    tracks = split.drop_duplicates("track_id")
    # stratified: exactly 20 of each genre's 100 tracks in test
    assert set(tracks[tracks["subset"] == "test"]["genre"].value_counts()) == {20}
    metrics = summarize(split)
    assert metrics["test_tracks"] == 200 and metrics["train_tracks"] == 800
    assert metrics["test_original_clips"] == 200
    assert metrics["tracks_on_both_sides"] == 0
    # 200 tracks x 7 clips, plus the few leftover 8th clips that fell in test
    assert 1400 <= metrics["test_clips"] <= 1420
    assert metrics["train_clips"] + metrics["test_clips"] == metrics["clips"] == 7020
    assert (metrics["tracks"], metrics["excluded_clips"]) == (1000, 0)


@pytest.mark.parametrize("test_size", [0.1, 0.25, 0.5])
def test_track_split_follows_test_size_per_genre(clips, test_size):
    split = assign(clips, params=SplitParams(test_size=test_size, seed=1))
    tracks = split.drop_duplicates("track_id")
    share = tracks.groupby("genre")["subset"].apply(lambda s: (s == "test").mean())
    np.testing.assert_allclose(share, test_size, atol=0.011)


def test_clip_split_leaks_tracks_across_sides(clips):
    split = assign(clips, params=SplitParams(strategy="clip", test_size=0.2))
    metrics = summarize(split)
    assert (metrics["train_clips"], metrics["test_clips"]) == (5616, 1404)
    assert metrics["tracks_on_both_sides"] > 500  # most songs have a variant on each side
    assert sides_per_track(split).max() == 2
    share = split.groupby("genre")["subset"].apply(lambda s: (s == "test").mean())
    np.testing.assert_allclose(share, 0.2, atol=0.002)  # stratified by genre


@pytest.mark.parametrize("strategy", ["track", "clip"])
def test_split_is_deterministic_from_the_seed(clips, strategy):
    first = assign(clips, params=SplitParams(strategy=strategy, seed=5))
    pd.testing.assert_frame_equal(
        first, assign(clips, params=SplitParams(strategy=strategy, seed=5))
    )
    other = assign(clips, params=SplitParams(strategy=strategy, seed=6))
    assert not first["subset"].equals(other["subset"])


def test_rows_keep_the_input_order(clips):
    shuffled = clips.sample(frac=1.0, random_state=0)
    split = assign(shuffled, params=SplitParams())
    assert split["clip_id"].tolist() == shuffled["clip_id"].tolist()
    assert list(split.columns) == ["clip_id", "track_id", "genre", "transform", "subset"]


def test_filtered_lists_are_torchaudios():
    lists = filtered_lists()
    assert lists["track_id"].is_unique
    assert lists["subset"].value_counts().to_dict() == {"train": 443, "test": 290, "valid": 197}
    assert lists["track_id"].str.fullmatch(r"(" + "|".join(GENRES) + r")\.000\d\d").all()
    # spot checks against torchaudio/datasets/gtzan.py
    side = dict(zip(lists["track_id"], lists["subset"], strict=True))
    assert (side["blues.00012"], side["jazz.00099"], side["rock.00090"]) == ("test",) * 3
    assert (side["blues.00029"], side["rock.00099"]) == ("train", "train")
    assert (side["blues.00000"], side["rock.00085"]) == ("valid", "valid")
    assert "country.00008" not in side


def test_filtered_split_uses_the_lists_and_excludes_other_tracks(clips):
    split = assign(clips, params=SplitParams(strategy="filtered"))
    tracks = split.drop_duplicates("track_id").set_index("track_id")["subset"]
    assert tracks["blues.00012"] == "test"
    assert tracks["blues.00000"] == "train"  # valid counts as train
    assert tracks["country.00008"] == "excluded"
    assert sides_per_track(split).max() == 1
    metrics = summarize(split)
    assert (metrics["train_tracks"], metrics["test_tracks"]) == (640, 290)
    assert metrics["excluded_tracks"] == 70
    assert metrics["excluded_clips"] == (split["subset"] == "excluded").sum()
    assert metrics["train_clips"] + metrics["test_clips"] + metrics["excluded_clips"] == 7020


def test_filtered_split_refuses_data_without_gtzan_ids():
    index = pd.DataFrame(
        {"track_id": [f"blues.{i:05d}" for i in range(100, 110)], "genre": "blues"}
    )
    clips = build_manifest(index, params=AugmentParams(factor=2.0))
    with pytest.raises(GenreError, match="filtered needs real GTZAN track ids"):
        assign(clips, params=SplitParams(strategy="filtered"))


def test_split_refuses_what_it_cannot_stratify():
    clips = make_clips(per_genre=2, factor=1.0)
    with pytest.raises(
        GenreError, match=r"split.test_size 0.1 gives 2 test tracks for 10 genres.*at least 0.5"
    ):
        assign(clips, params=SplitParams(test_size=0.1))
    lonely = clips[~clips["track_id"].isin(["jazz.00001"])]
    with pytest.raises(GenreError, match="genre jazz has only 1 of the 19 tracks"):
        assign(lonely, params=SplitParams(test_size=0.5))
    with pytest.raises(GenreError, match="lists clip blues.00000.orig twice"):
        assign(pd.concat([clips, clips.head(1)]), params=SplitParams())


# --- stage ------------------------------------------------------------------------------


def _project(tmp_path, monkeypatch, yaml_text="split: {strategy: track}\n"):
    (tmp_path / "params.yaml").write_text(yaml_text)
    monkeypatch.chdir(tmp_path)


def _write_summary(tmp_path, clips: pd.DataFrame) -> None:
    (tmp_path / "data/features").mkdir(parents=True)
    summary = clips[["clip_id", "track_id", "genre", "transform"]].assign(zcr_mean=0.5)
    summary.to_parquet(tmp_path / "data/features/summary.parquet", index=False)


def test_stage_writes_split_and_metrics(tmp_path, monkeypatch, capsys):
    _project(tmp_path, monkeypatch)
    clips = make_clips(per_genre=10, factor=3.0).sample(frac=1.0, random_state=1)
    _write_summary(tmp_path, clips)
    stage.main()
    split = pd.read_csv(tmp_path / "data/split/split.csv", dtype=str)
    assert split["clip_id"].tolist() == clips["clip_id"].tolist()
    assert set(split["subset"]) == {"train", "test"}
    metrics = json.loads((tmp_path / "metrics/split.json").read_text())
    # a DVC metric: a few numbers only (no lists or strings: `dvc exp show` shows each key)
    assert metrics == {
        "clips": 300,
        "train_tracks": 80,
        "test_tracks": 20,
        "tracks_on_both_sides": 0,
    }
    assert re.search(
        r"train 240 clips / 80 tracks, test 60 clips / 20 tracks", capsys.readouterr().out
    )


def test_stage_needs_the_features(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch)
    with pytest.raises(GenreError, match=r"summary.parquet is missing: run `dvc repro featurize`"):
        stage.main()
    (tmp_path / "data/features").mkdir(parents=True)
    pd.DataFrame({"clip_id": ["a"], "genre": ["blues"]}).to_parquet(
        tmp_path / "data/features/summary.parquet"
    )
    with pytest.raises(GenreError, match=r"lacks columns \['track_id', 'transform'\].*stale"):
        stage.main()
    (tmp_path / "data/features/summary.parquet").write_text("not parquet")
    with pytest.raises(GenreError, match="unreadable.*dvc repro featurize"):
        stage.main()
    assert not (tmp_path / "data/split").exists()


def test_stage_refuses_filtered_on_synthetic_data(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, "data: {source: synthetic}\nsplit: {strategy: filtered}\n")
    _write_summary(tmp_path, make_clips(per_genre=10, factor=1.0))
    with pytest.raises(GenreError, match="filtered needs real GTZAN.*data.source is synthetic"):
        stage.main()


def test_stage_refuses_bad_params(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, "split: {strategy: random}\n")
    with pytest.raises(GenreError, match="split.strategy must be one of track, clip, filtered"):
        stage.main()
