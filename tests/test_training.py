"""Training: inputs and their staleness checks, the by-track validation part, class weights,
determinism, and the train stage's outputs on fabricated features."""

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import fabricate

from genre import GENRES, files
from genre.errors import GenreError
from genre.models import inputs as inputs_module
from genre.models.inputs import Inputs, labels, load_inputs
from genre.models.training import class_weights, train, validation_mask
from genre.params import ModelParams, TrainParams

TINY_MODEL = ModelParams(units=8, layers=1, dropout=0.1)
TINY_TRAIN = TrainParams(epochs=3, batch_size=16, patience=2, val_size=0.25, seed=7)


def write_project(root: Path, split: pd.DataFrame, sequences: np.ndarray, **train) -> None:
    """The featurize/split outputs and a params.yaml in `root`, laid out like the project."""
    (root / "data/features").mkdir(parents=True)
    (root / "data/split").mkdir(parents=True)
    summary = split.drop(columns="subset").copy()
    for i in range(44):
        summary[f"feature_{i}"] = sequences[:, :, i].mean(axis=1)
    summary.to_parquet(root / "data/features/summary.parquet", index=False)
    np.save(root / "data/features/sequences.npy", sequences)
    split.to_csv(root / "data/split/split.csv", index=False)
    (root / "data/raw").mkdir(parents=True)  # the model description fingerprints the index
    split[["track_id", "genre"]].drop_duplicates().to_csv(root / "data/raw/index.csv", index=False)
    params = {
        "data": {"duration_s": 0.5 * sequences.shape[1]},  # featurize.window_s 0.5 per step
        "model": {"units": 8, "layers": 1, "dropout": 0.1},
        "train": {"epochs": 3, "batch_size": 16, "patience": 2, "val_size": 0.25, **train},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.fixture(scope="module")
def trained():
    """`trained(arch)`: `arch` trained on fabricate() with the tiny params, once per module,
    for the tests that only read the result."""

    @functools.cache
    def trained(arch: str):
        split, sequences = fabricate()
        inputs = Inputs(x=sequences.mean(axis=1) if arch == "mlp" else sequences, rows=split)
        return train(arch, inputs, model_params=TINY_MODEL, train_params=TINY_TRAIN)

    return trained


@pytest.fixture
def project(tmp_path, monkeypatch):
    split, sequences = fabricate()
    write_project(tmp_path, split, sequences)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validation_part_is_whole_tracks_stratified_by_genre():
    split, _ = fabricate(tracks=10, clips=4)
    rows = split[split["subset"] == "train"].reset_index(drop=True)
    val = validation_mask(rows, val_size=0.25, seed=1)
    val_tracks, fit_tracks = set(rows["track_id"][val]), set(rows["track_id"][~val])
    assert not val_tracks & fit_tracks
    assert len(val_tracks) == 20  # a quarter of the 80 training tracks
    assert rows[val].groupby("genre")["track_id"].nunique().to_dict() == dict.fromkeys(GENRES, 2)
    assert np.array_equal(val, validation_mask(rows, val_size=0.25, seed=1))
    assert not np.array_equal(val, validation_mask(rows, val_size=0.25, seed=2))


def test_validation_needs_two_tracks_in_some_genre():
    rows = pd.DataFrame({"track_id": ["a.1"] * 3, "genre": ["blues"] * 3})
    with pytest.raises(GenreError, match="at most 1 training track.*data.clips_per_genre"):
        validation_mask(rows, val_size=0.2, seed=0)


def test_validation_part_of_tiny_data_takes_one_track_per_genre():
    """4 training tracks per genre cannot make 7 folds (val_size 0.15): one fold of 4 instead."""
    split, _ = fabricate(tracks=6, clips=2)
    rows = split[split["subset"] == "train"].reset_index(drop=True)
    assert rows.groupby("genre")["track_id"].nunique().max() == 4
    val = validation_mask(rows, val_size=0.15, seed=0)
    assert rows[val].groupby("genre")["track_id"].nunique().to_dict() == dict.fromkeys(GENRES, 1)


def test_class_weights_only_when_unbalanced():
    assert class_weights(np.array([0, 0, 1, 1])) is None
    # "balanced": n / (classes * count) = 8 / (2 * 2) and 8 / (2 * 6)
    assert class_weights(np.array([0, 0, 1, 1, 1, 1, 1, 1])) == pytest.approx({0: 2.0, 1: 2 / 3})


def test_inputs_are_aligned_with_the_split(project):
    mlp, lstm = load_inputs(sequences=False), load_inputs(sequences=True)
    assert mlp.x.shape == (180, 44) and lstm.x.shape == (180, 5, 44)
    assert list(mlp.rows["clip_id"]) == list(lstm.rows["clip_id"])
    np.testing.assert_allclose(mlp.x, lstm.x.mean(axis=1), rtol=1e-5)


def test_missing_inputs_name_the_stage_to_run(project):
    (project / "data/features/sequences.npy").unlink()
    with pytest.raises(GenreError, match=r"sequences.npy is missing: run `dvc repro featurize`"):
        load_inputs(sequences=True)
    (project / "data/split/split.csv").unlink()
    with pytest.raises(GenreError, match=r"split.csv is missing: run `dvc repro split`"):
        load_inputs(sequences=False)


def test_a_data_set_of_other_genres_is_labelled_and_predicted_over_its_own_genres():
    """3 made-up genres, listed in no particular order: the genre list is their sorted names,
    labels index into it, and predictions have one prob_<genre> column per genre."""
    split, sequences = fabricate(genres=("polka", "chiptune", "drone"))
    inputs = Inputs(x=sequences.mean(axis=1), rows=split)
    assert inputs.genres == ("chiptune", "drone", "polka")
    assert labels(["polka", "chiptune", "drone"], genres=inputs.genres).tolist() == [2, 0, 1]
    result = train("mlp", inputs, model_params=TINY_MODEL, train_params=TINY_TRAIN)
    frame = result.predictions
    assert list(frame.columns) == [
        "clip_id",
        "track_id",
        "genre",
        "transform",
        "predicted",
        "prob_chiptune",
        "prob_drone",
        "prob_polka",
    ]
    probs = frame[["prob_chiptune", "prob_drone", "prob_polka"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert frame["predicted"].tolist() == [inputs.genres[i] for i in probs.argmax(axis=1)]
    assert 0 <= result.summary["test/macro_recall"] <= 1


def test_stale_inputs_are_refused(project):
    split = pd.read_csv(project / "data/split/split.csv")
    np.save(project / "data/features/sequences.npy", np.zeros((10, 5, 44), "float32"))
    with pytest.raises(GenreError, match=r"180 rows but .* shape \(10, 5, 44\).*stale"):
        load_inputs(sequences=True)
    split.iloc[::-1].to_csv(project / "data/split/split.csv", index=False)
    with pytest.raises(GenreError, match="does not list the clips.*in order.*repro split"):
        load_inputs(sequences=False)
    split.assign(genre=split["genre"].str.upper()).to_csv(
        project / "data/split/split.csv", index=False
    )
    with pytest.raises(GenreError, match=r"genres that are not genre names \['BLUES'"):
        load_inputs(sequences=False)


def test_summary_ids_are_checked_batch_by_batch(project, monkeypatch):
    """The summary is read a batch at a time: a split that lists the clips in another order
    only in a later batch, or one clip fewer, is refused as well; a good one reads whole."""
    monkeypatch.setattr(inputs_module, "CHUNK_ROWS", 7)
    monkeypatch.setattr(files, "CSV_CHUNK", 5)  # split.csv read 5 rows at a time
    split = pd.read_csv(project / "data/split/split.csv", dtype=str)
    whole = load_inputs(sequences=False)
    assert whole.rows.equals(split) and len(whole.x) == len(split)
    swapped = split.copy()
    swapped.iloc[[100, 101]] = split.iloc[[101, 100]].to_numpy()
    swapped.to_csv(project / "data/split/split.csv", index=False)
    with pytest.raises(GenreError, match="does not list the clips.*in order.*repro split"):
        load_inputs(sequences=False)
    split.iloc[:-1].to_csv(project / "data/split/split.csv", index=False)
    with pytest.raises(GenreError, match="does not list the clips.*in order.*repro split"):
        load_inputs(sequences=False)


@pytest.mark.parametrize(
    "arch",  # the recurrent ones are slow: 5 s (rnn) and 11 s (bilstm) of CPU for two fits
    [
        "mlp",
        pytest.param("rnn", marks=pytest.mark.slow),
        pytest.param("bilstm", marks=pytest.mark.slow),
    ],
)
def test_training_is_reproducible(trained, arch):
    """The same inputs and params give the same predictions and scores (the module's shared
    training of `arch` against a fresh one)."""
    split, sequences = fabricate()
    inputs = Inputs(x=sequences.mean(axis=1) if arch == "mlp" else sequences, rows=split)
    first = trained(arch)
    second = train(arch, inputs, model_params=TINY_MODEL, train_params=TINY_TRAIN)
    pd.testing.assert_frame_equal(first.predictions, second.predictions, check_exact=True)
    assert first.summary == second.summary
    assert (
        first.predictions["clip_id"].tolist() == split["clip_id"][split.subset == "test"].tolist()
    )


def test_trained_model_predicts_one_batch_per_call(trained):
    """fit runs an epoch's steps per TF call; the model comes back at one step per call, as
    Keras would otherwise trace predict once per step (cross_validate predicts with it)."""
    result = trained("mlp")
    assert result.model.steps_per_execution == 1
    assert result.model.get_compile_config()["steps_per_execution"] == 1  # saved as before


def test_mlp_learns_the_fabricated_genres():
    split, sequences = fabricate()
    inputs = Inputs(x=sequences.mean(axis=1), rows=split)
    params = TrainParams(epochs=40, batch_size=16, learning_rate=0.01, patience=5, val_size=0.25)
    result = train("mlp", inputs, model_params=ModelParams(units=32, layers=1), train_params=params)
    assert result.summary["test/accuracy"] > 0.8  # chance is 0.1
    assert 1 <= result.summary["best/epoch"] <= result.summary["epochs"]


def test_train_stage_writes_model_predictions_and_only_dvclive_files(project):
    from genre.models.networks import load
    from genre.stages.train import main

    live_dir = project / "metrics/train/rnn"
    live_dir.mkdir(parents=True)
    (live_dir / "stale.json").write_text("{}")
    main(["rnn"])

    files = sorted(str(p.relative_to(live_dir)) for p in live_dir.rglob("*") if p.is_file())
    assert files == [
        "metrics.json",
        "plots/metrics/eval/accuracy.tsv",
        "plots/metrics/eval/loss.tsv",
        "plots/metrics/train/accuracy.tsv",
        "plots/metrics/train/loss.tsv",
    ]
    summary = json.loads((live_dir / "metrics.json").read_text())
    curve = (live_dir / "plots/metrics/eval/loss.tsv").read_text().splitlines()
    assert curve[0] == "step\tloss" and len(curve) == 1 + summary["epochs"]
    assert set(summary["best"]) == {"epoch", "val_loss", "val_accuracy"}
    assert set(summary["test"]) == {"accuracy", "macro_recall"}

    predictions = pd.read_parquet(project / "data/predictions/rnn.parquet")
    assert list(predictions.columns) == [
        "clip_id",
        "track_id",
        "genre",
        "transform",
        "predicted",
        *(f"prob_{g}" for g in GENRES),
    ]
    assert len(predictions) == 60  # 10 genres x 2 test tracks x 3 clips
    model = load(project / "models/rnn.keras")
    split = pd.read_csv(project / "data/split/split.csv")
    raw = np.load(project / "data/features/sequences.npy")[(split["subset"] == "test").to_numpy()]
    np.testing.assert_allclose(
        model.predict(raw, verbose=0),
        predictions[[f"prob_{g}" for g in GENRES]].to_numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_train_stage_refuses_bad_arguments_and_params(project):
    from genre.stages.train import main

    with pytest.raises(GenreError, match="ARCH one of mlp, rnn, lstm, bilstm \\(got gru\\)"):
        main(["gru"])
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["val_size"] = 0.9
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(GenreError, match="train.val_size must be <= 0.5"):
        main(["mlp"])
    assert not (project / "models").exists()


def test_excluded_clips_are_neither_trained_on_nor_scored(project):
    """split.strategy filtered marks tracks outside the lists `excluded`: they are left out."""
    split = pd.read_csv(project / "data/split/split.csv")
    excluded = split["track_id"].isin(split["track_id"].unique()[::7])
    split.loc[excluded, "subset"] = "excluded"
    split.to_csv(project / "data/split/split.csv", index=False)
    inputs = load_inputs(sequences=False)
    result = train("mlp", inputs, model_params=TINY_MODEL, train_params=TINY_TRAIN)
    assert (
        result.predictions["clip_id"].tolist() == split["clip_id"][split.subset == "test"].tolist()
    )
    split.loc[0, "subset"] = "holdout"
    split.to_csv(project / "data/split/split.csv", index=False)
    with pytest.raises(GenreError, match="needs train and test rows"):
        load_inputs(sequences=False)
