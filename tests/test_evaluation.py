"""Scores, soft voting and the ensemble/evaluate stages, on hand-made predictions."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from genre import ARCHITECTURES, GENRES
from genre.errors import GenreError
from genre.evaluation import (
    PROB_COLUMNS,
    check_same_clips,
    confusion_frame,
    evaluate,
    read_predictions,
    recall_frame,
    scores,
    soft_vote,
)


def predictions(actual, predicted, transforms=None, probs=None) -> pd.DataFrame:
    """A predictions table; by default each clip's probability is all on its prediction."""
    n = len(actual)
    if probs is None:
        probs = np.zeros((n, len(GENRES)))
        probs[np.arange(n), [GENRES.index(p) for p in predicted]] = 1.0
    frame = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(n)],
            "track_id": [f"t{i // 2}" for i in range(n)],
            "genre": actual,
            "transform": transforms or ["original"] * n,
            "predicted": predicted,
        }
    )
    frame[PROB_COLUMNS] = np.asarray(probs, dtype="float64")
    return frame


def test_scores_known_answer():
    actual = ["blues", "blues", "classical", "classical"]
    predicted = ["blues", "classical", "classical", "classical"]
    s = scores(actual, predicted)
    assert s["accuracy"] == 0.75
    assert s["recall"] == {**dict.fromkeys(GENRES, 0.0), "blues": 0.5, "classical": 1.0}
    assert s["macro_recall"] == 0.15  # (0.5 + 1.0) / 10 genres
    # F1 blues = 2 * 1 * 0.5 / 1.5 = 2/3, classical = 2 * (2/3) * 1 / (5/3) = 0.8
    assert s["macro_f1"] == round((2 / 3 + 0.8) / 10, 6)


def test_evaluate_scores_original_clips_alone():
    frame = predictions(
        ["jazz", "jazz", "jazz", "rock"],
        ["jazz", "rock", "rock", "rock"],
        transforms=["original", "noise", "stretch", "original"],
    )
    report = evaluate({"mlp": frame})
    assert report["mlp"]["test"]["accuracy"] == 0.5
    assert report["mlp"]["test_original"]["accuracy"] == 1.0
    assert report["mlp"]["test"]["recall"]["jazz"] == round(1 / 3, 6)
    assert report["mlp"]["test_original"]["recall"]["jazz"] == 1.0


def test_soft_vote_is_the_weighted_mean_of_probabilities():
    actual = ["blues", "metal"]
    a = np.zeros((2, 10))
    a[:, GENRES.index("blues")] = [0.6, 0.6]
    a[:, GENRES.index("metal")] = [0.4, 0.4]
    b = np.zeros((2, 10))
    b[:, GENRES.index("metal")] = 1.0
    frames = {
        "mlp": predictions(actual, ["blues", "blues"], probs=a),
        "rnn": predictions(actual, ["metal", "metal"], probs=b),
        "lstm": predictions(actual, ["pop", "pop"]),
    }
    voted = soft_vote(frames, {"mlp": 3.0, "rnn": 1.0, "lstm": 0.0})
    # blues: (3 * 0.6 + 0) / 4 = 0.45; metal: (3 * 0.4 + 1) / 4 = 0.55; lstm weighs nothing
    np.testing.assert_allclose(voted["prob_blues"], 0.45)
    np.testing.assert_allclose(voted["prob_metal"], 0.55)
    np.testing.assert_allclose(voted[PROB_COLUMNS].sum(axis=1), 1.0)
    assert voted["predicted"].tolist() == ["metal", "metal"]
    assert voted["clip_id"].tolist() == ["c0", "c1"]


def test_predictions_of_different_clips_are_stale():
    one = predictions(["blues", "pop"], ["blues", "pop"])
    other = one.copy()
    other.loc[1, "clip_id"] = "c9"
    with pytest.raises(GenreError, match="rnn and mlp cover different test clips.*dvc repro"):
        check_same_clips({"mlp": one, "rnn": other})
    with pytest.raises(GenreError, match="different test clips"):
        soft_vote({"mlp": one, "rnn": other}, {"mlp": 1.0, "rnn": 1.0})


def test_plot_tables():
    frame = predictions(["rock", "pop"], ["pop", "pop"])
    assert confusion_frame(frame).to_dict("list") == {
        "actual": ["rock", "pop"],
        "predicted": ["pop", "pop"],
    }
    recall = recall_frame(evaluate({"mlp": frame, "ensemble": frame}))
    assert list(recall.columns) == ["genre", "mlp", "ensemble"]
    assert recall.set_index("genre").loc["pop"].tolist() == [1.0, 1.0]
    assert recall["genre"].tolist() == list(GENRES)


def test_read_predictions_errors_name_the_stage(tmp_path):
    with pytest.raises(GenreError, match="lstm.parquet is missing: run `dvc repro train_lstm`"):
        read_predictions(tmp_path / "lstm.parquet", made_by="train_lstm")
    predictions(["rock"], ["pop"]).drop(columns="prob_rock").to_parquet(tmp_path / "old.parquet")
    with pytest.raises(GenreError, match=r"lacks columns \['prob_rock'\].*stale"):
        read_predictions(tmp_path / "old.parquet", made_by="train_rnn")


@pytest.fixture
def predicted_project(tmp_path, monkeypatch):
    """Four models' prediction files (6 test clips, 3 of them original) and params.yaml."""
    (tmp_path / "data/predictions").mkdir(parents=True)
    actual = ["blues", "blues", "jazz", "jazz", "rock", "rock"]
    transforms = ["original", "noise"] * 3
    guesses = {
        "mlp": ["blues", "blues", "jazz", "rock", "rock", "rock"],
        "rnn": ["blues", "jazz", "jazz", "jazz", "rock", "blues"],
        "lstm": ["blues", "blues", "jazz", "jazz", "rock", "rock"],
        "bilstm": ["pop", "blues", "jazz", "jazz", "pop", "rock"],
    }
    for arch, guess in guesses.items():
        path = tmp_path / f"data/predictions/{arch}.parquet"
        predictions(actual, guess, transforms).to_parquet(path, index=False)
    weights = {"mlp": 1, "rnn": 1, "lstm": 2, "bilstm": 0}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"ensemble": {"weights": weights}}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_ensemble_and_evaluate_stages(predicted_project):
    from genre.stages import ensemble, evaluate

    ensemble.main()
    saved = json.loads((predicted_project / "models/ensemble.json").read_text())
    assert saved == {"weights": {"mlp": 1.0, "rnn": 1.0, "lstm": 2.0, "bilstm": 0.0}}
    voted = pd.read_parquet(predicted_project / "data/predictions/ensemble.parquet")
    assert voted["predicted"].tolist() == ["blues", "blues", "jazz", "jazz", "rock", "rock"]

    evaluate.main()
    report = json.loads((predicted_project / "metrics/evaluate.json").read_text())
    assert list(report) == [*ARCHITECTURES, "ensemble"]
    assert report["ensemble"]["test"]["accuracy"] == 1.0
    assert report["bilstm"]["test"]["accuracy"] == round(4 / 6, 6)
    assert report["bilstm"]["test_original"]["accuracy"] == round(1 / 3, 6)
    assert set(report["mlp"]["test"]) == {"accuracy", "macro_recall", "macro_f1", "recall"}
    assert list(report["mlp"]["test"]["recall"]) == list(GENRES)
    for name in report:
        confusion = pd.read_csv(predicted_project / f"metrics/confusion/{name}.csv")
        assert list(confusion.columns) == ["actual", "predicted"] and len(confusion) == 6
    recall = pd.read_csv(predicted_project / "metrics/recall.csv")
    assert list(recall.columns) == ["genre", *ARCHITECTURES, "ensemble"]


def test_evaluate_refuses_stale_ensemble(predicted_project):
    from genre.stages import ensemble, evaluate

    ensemble.main()
    path = predicted_project / "data/predictions/mlp.parquet"
    pd.read_parquet(path).iloc[:4].to_parquet(path, index=False)  # mlp retrained on a new split
    with pytest.raises(GenreError, match="cover different test clips"):
        evaluate.main()
    assert not (predicted_project / "metrics").exists()
