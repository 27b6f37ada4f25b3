"""split.strategy official: the source's own split (FMA's training / validation / test), its
validation set used for early stopping only, never scored; refused where there is none."""

import json

import numpy as np
import pandas as pd
import pytest

from genre.errors import GenreError
from genre.features.augment import build_manifest
from genre.models import baseline
from genre.models.inputs import Inputs, load_inputs
from genre.models.training import early_stopping_sets, validation_mask
from genre.params import AugmentParams, BaselineParams, SplitParams, TrainParams
from genre.split import assign, official_sides, summarize
from genre.stages import split as stage

GENRES = ("hip-hop", "old-time-historic", "soul-rnb")
SIDES = ("train", "train", "train", "train", "valid", "test")  # per genre, track after track


def fma_index() -> pd.DataFrame:
    """index.csv of an FMA download: 6-digit ids and each track's official side."""
    rows = [
        (f"{g}.{1000 * n + i:06d}", g, SIDES[n])
        for i, g in enumerate(GENRES)
        for n in range(len(SIDES))
    ]
    return pd.DataFrame(rows, columns=["track_id", "genre", "official_split"])


def fma_clips(index: pd.DataFrame) -> pd.DataFrame:
    return build_manifest(index, params=AugmentParams(factor=3.0))


def test_official_split_puts_every_clip_on_its_tracks_official_side():
    index = fma_index()
    sides = official_sides(index)
    split = assign(fma_clips(index), params=SplitParams(strategy="official"), official=sides)
    assert (split["track_id"].map(sides) == split["subset"]).all()
    assert split.groupby("track_id")["subset"].nunique().max() == 1
    counts = summarize(split)
    assert (counts["train_tracks"], counts["valid_tracks"], counts["test_tracks"]) == (12, 3, 3)
    assert counts["valid_clips"] == 9 and counts["excluded_clips"] == 0


def test_a_track_without_an_official_side_is_excluded():
    index = fma_index()
    index.loc[0, "official_split"] = np.nan  # as pandas reads an empty field
    index.loc[1, "official_split"] = "holdout"
    split = assign(
        fma_clips(index), params=SplitParams(strategy="official"), official=official_sides(index)
    )
    excluded = split[split["subset"] == "excluded"]
    assert sorted(excluded["track_id"].unique()) == sorted(index["track_id"][:2])


def test_an_official_split_without_a_test_side_is_refused():
    index = fma_index()
    index["official_split"] = index["official_split"].replace("test", "train")
    with pytest.raises(GenreError) as err:
        assign(
            fma_clips(index),
            params=SplitParams(strategy="official"),
            official=official_sides(index),
        )
    assert str(err.value).startswith(
        "split.strategy official: no track of the data set is on the test side of its official "
        "split (data/raw/index.csv, official_split)"
    )


def test_the_other_strategies_ignore_an_official_split():
    index = fma_index()
    clips = fma_clips(index)
    for strategy in ("track", "clip"):
        params = SplitParams(strategy=strategy, test_size=0.3)
        with_sides = assign(clips, params=params, official=official_sides(index))
        assert with_sides.equals(assign(clips, params=params))
        assert set(with_sides["subset"]) == {"train", "test"}


def project(tmp_path, monkeypatch, *, source: str, index: pd.DataFrame | None = None) -> None:
    """params.yaml, data/raw/index.csv and summary.parquet, as the stages before split leave."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(
        f"data: {{source: {source}, local_path: music}}\nsplit: {{strategy: official}}\n"
    )
    index = fma_index() if index is None else index
    (tmp_path / "data/raw").mkdir(parents=True)
    index.to_csv(tmp_path / "data/raw/index.csv", index=False)
    (tmp_path / "data/features").mkdir(parents=True)
    summary = fma_clips(fma_index())[["clip_id", "track_id", "genre", "transform"]]
    summary.assign(zcr_mean=0.5).to_parquet(tmp_path / "data/features/summary.parquet")


@pytest.mark.parametrize("source", ["synthetic", "gtzan", "gtzan-mini", "local"])
def test_the_stage_refuses_official_on_a_source_without_one(tmp_path, monkeypatch, source):
    project(tmp_path, monkeypatch, source=source)
    with pytest.raises(GenreError) as err:
        stage.main()
    assert str(err.value) == (
        "split.strategy official needs a source with an official split (data.source fma), but "
        f"data.source is {source}: use split.strategy track (or filtered for real GTZAN)"
    )
    assert not (tmp_path / "data/split").exists()


def test_the_stage_writes_the_official_split(tmp_path, monkeypatch, capsys):
    project(tmp_path, monkeypatch, source="fma")
    stage.main()
    split = pd.read_csv(tmp_path / "data/split/split.csv", dtype=str)
    assert split["subset"].value_counts().to_dict() == {"train": 36, "valid": 9, "test": 9}
    out = capsys.readouterr().out
    assert "split (official): train 36 clips / 12 tracks, valid 9 clips / 3 tracks (early " in out
    assert "test 9 clips / 3 tracks" in out
    metrics = json.loads((tmp_path / "metrics/split.json").read_text())
    assert set(metrics) == {"clips", "train_tracks", "test_tracks", "tracks_on_both_sides"}


def test_the_stage_needs_the_official_split_in_the_index(tmp_path, monkeypatch):
    project(tmp_path, monkeypatch, source="fma", index=fma_index().drop(columns="official_split"))
    with pytest.raises(GenreError, match="index.csv has no official_split column: run `dvc repro"):
        stage.main()


def inputs_with_valid(seed: int = 0) -> Inputs:
    """Summary features of the official split's clips: genre k raises feature k."""
    index = fma_index()
    rows = assign(
        fma_clips(index), params=SplitParams(strategy="official"), official=official_sides(index)
    )
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(rows), 44)).astype("float32")
    x[np.arange(len(rows)), rows["genre"].map(GENRES.index)] += 3
    return Inputs(x=x, rows=rows)


def test_early_stopping_watches_the_valid_clips_and_fits_every_training_clip():
    inputs = inputs_with_valid()
    fit, y_fit, val, y_val = early_stopping_sets(inputs, train_params=TrainParams())
    subset = inputs.rows["subset"]
    assert np.array_equal(inputs.x[fit], inputs.x[subset == "train"])
    assert np.array_equal(inputs.x[val], inputs.x[subset == "valid"])
    assert list(y_val) == [GENRES.index(g) for g in inputs.rows.loc[subset == "valid", "genre"]]
    # without valid clips: a by-track part of the training tracks, as before
    train_only = Inputs(x=inputs.x, rows=inputs.rows.replace({"subset": {"valid": "train"}}))
    params = TrainParams(val_size=0.25, seed=3)
    fit, _, val, _ = early_stopping_sets(train_only, train_params=params)
    rows = train_only.rows[train_only.rows["subset"] == "train"].reset_index(drop=True)
    mask = validation_mask(rows, val_size=0.25, seed=3)
    x_val = train_only.x[val]
    assert np.array_equal(x_val, train_only.x[(train_only.rows["subset"] == "train")][mask])
    assert len(fit) + len(val) == len(rows)


def test_the_baseline_learns_from_train_only_and_predicts_the_test_clips():
    inputs = inputs_with_valid()
    model, _ = baseline.fit(inputs, params=BaselineParams())
    without_valid = inputs.rows["subset"] != "valid"
    alone = Inputs(
        x=inputs.x[without_valid], rows=inputs.rows[without_valid].reset_index(drop=True)
    )
    model_alone, _ = baseline.fit(alone, params=BaselineParams())
    coef = model.named_steps["classify"].coef_
    assert np.array_equal(coef, model_alone.named_steps["classify"].coef_)
    predictions = baseline.predict_test(model, inputs)
    assert set(predictions["clip_id"]) == set(
        inputs.rows.loc[inputs.rows["subset"] == "test", "clip_id"]
    )


def test_training_inputs_accept_the_valid_subset(tmp_path):
    inputs = inputs_with_valid()
    (tmp_path / "features").mkdir()
    summary = inputs.rows.drop(columns="subset")
    summary = pd.concat(
        [summary, pd.DataFrame(inputs.x, columns=[f"f{i}" for i in range(44)])], axis=1
    )
    summary.to_parquet(tmp_path / "features/summary.parquet", index=False)
    inputs.rows.to_csv(tmp_path / "split.csv", index=False)
    paths = dict(
        summary_path=tmp_path / "features/summary.parquet", split_path=tmp_path / "split.csv"
    )
    loaded = load_inputs(sequences=False, **paths)
    assert set(loaded.rows["subset"]) == {"train", "valid", "test"}
    inputs.rows.replace({"subset": {"valid": "validation"}}).to_csv(
        tmp_path / "split.csv", index=False
    )
    with pytest.raises(
        GenreError, match="needs train and test rows .* stale, run `dvc repro split`"
    ):
        load_inputs(sequences=False, **paths)
