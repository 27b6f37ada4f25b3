"""Scores, soft voting and the ensemble/evaluate stages, on hand-made predictions."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import describe

from genre import GENRES
from genre.errors import GenreError
from genre.evaluation import (
    bootstrap_scores,
    bootstrap_weights,
    confusion_frame,
    evaluate,
    metrics,
    recall_frame,
    scores,
    track_table,
)
from genre.models import registry
from genre.models.predictions import check_same_clips, genres_of, prob_columns, read_predictions
from genre.models.voting import vote_tables
from genre.params import DataParams, FeaturizeParams

PROB_COLUMNS = prob_columns(GENRES)


def predictions(actual, predicted, transforms=None, probs=None, genres=GENRES) -> pd.DataFrame:
    """A predictions table over `genres`; by default each clip's probability is all on its
    prediction."""
    n = len(actual)
    if probs is None:
        probs = np.zeros((n, len(genres)))
        probs[np.arange(n), [list(genres).index(p) for p in predicted]] = 1.0
    frame = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(n)],
            "track_id": [f"t{i // 2}" for i in range(n)],
            "genre": actual,
            "transform": transforms or ["original"] * n,
            "predicted": predicted,
        }
    )
    frame[prob_columns(genres)] = np.asarray(probs, dtype="float64")
    return frame


def test_scores_known_answer():
    actual = ["blues", "blues", "classical", "classical"]
    predicted = ["blues", "classical", "classical", "classical"]
    s = scores(actual, predicted)
    assert s["accuracy"] == 0.75
    # the 8 genres with no test clip have no recall, and do not count as 0 in the averages
    assert s["recall"] == {"blues": 0.5, "classical": 1.0}
    assert s["macro_recall"] == 0.75  # (0.5 + 1.0) / 2 genres present
    # F1 blues = 2 * 1 * 0.5 / 1.5 = 2/3, classical = 2 * (2/3) * 1 / (5/3) = 0.8
    assert s["macro_f1"] == round((2 / 3 + 0.8) / 2, 6)


def test_a_genre_absent_from_the_test_set_is_named_and_left_out():
    actual = ["blues", "blues", "jazz", "jazz"]
    frame = predictions(actual, ["blues", "jazz", "jazz", "jazz"])  # tracks t0 (blues), t1
    report = evaluate({"mlp": frame})
    assert report["absent_genres"] == [g for g in GENRES if g not in ("blues", "jazz")]
    assert report["test_tracks_per_genre"] == {**dict.fromkeys(GENRES, 0), "blues": 1, "jazz": 1}
    assert report["mlp"]["test"]["macro_recall"] == 0.75  # (0.5 + 1) / 2, not / 10
    assert set(report["mlp"]["test"]["recall"]) == {"blues", "jazz"}


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


def tracks_of(tracks: list[tuple[str, int, int]]) -> pd.DataFrame:
    """Predictions of (genre, clips, clips right) tracks, one track id per tuple."""
    actual, predicted, track_ids = [], [], []
    for i, (genre, clips, right) in enumerate(tracks):
        wrong = "rock" if genre != "rock" else "pop"
        actual += [genre] * clips
        predicted += [genre] * right + [wrong] * (clips - right)
        track_ids += [f"track{i}"] * clips
    return predictions(actual, predicted).assign(track_id=track_ids)


def test_bootstrap_resamples_tracks_not_clips():
    # two songs of 50 clips each, one all right and one all wrong: resampling the 100 clips
    # would give about 0.5 +- 0.1; resampling the 2 songs gives 0, 0.5 or 1 (p = 1/4, 1/2, 1/4)
    frame = tracks_of([("blues", 50, 50), ("blues", 50, 0)])
    scored = evaluate({"mlp": frame})["mlp"]["test"]
    assert scored["accuracy"] == 0.5
    assert scored["accuracy_ci"] == [0.0, 1.0]
    assert scored["macro_recall_ci"] == [0.0, 1.0]


def test_bootstrap_weights_draw_as_many_tracks_and_follow_the_seed():
    weights = bootstrap_weights(10, resamples=2000, seed=7)
    assert weights.shape == (2000, 10)
    assert (weights.sum(axis=1) == 10).all()  # each resample: 10 tracks, with replacement
    np.testing.assert_allclose(weights.mean(axis=0), 1.0, atol=0.1)  # no track favoured
    np.testing.assert_array_equal(weights, bootstrap_weights(10, resamples=2000, seed=7))
    assert not np.array_equal(weights, bootstrap_weights(10, resamples=2000, seed=8))


def test_one_track_per_genre_still_gets_an_interval():
    # 3 genres of 1 track each, 2 right: resampling the tracks moves the scores
    frame = tracks_of([("blues", 2, 2), ("jazz", 2, 2), ("rock", 2, 0)])
    scored = evaluate({"mlp": frame})["mlp"]["test"]
    assert scored["accuracy_ci"][0] < scored["accuracy"] < scored["accuracy_ci"][1]
    assert scored["accuracy_ci"] == [0.0, 1.0]  # 1 in 27 resamples has only rock, 8 have none
    # a resample without rock: macro recall over blues and jazz only, 1.0 (not 2/3)
    spread = bootstrap_scores(track_table(frame), np.array([[2, 1, 0], [0, 0, 3]]))
    np.testing.assert_allclose(spread["macro_recall"], [1.0, 0.0])


def test_interval_holds_the_estimate_and_shrinks_with_more_tracks():
    def scored(per_genre: int) -> dict:
        # 80% of the tracks right (all their 3 clips), 20% wrong, in two genres
        tracks = [
            (g, 3, 0 if i % 5 == 0 else 3) for g in ("jazz", "rock") for i in range(per_genre)
        ]
        return evaluate({"mlp": tracks_of(tracks)})["mlp"]["test"]

    few, many = scored(10), scored(250)
    for s in (few, many):
        assert s["accuracy"] == s["macro_recall"] == 0.8
        for key in ("accuracy", "macro_recall"):
            low, high = s[f"{key}_ci"]
            assert low < s[key] < high
    width = {n: s["accuracy_ci"][1] - s["accuracy_ci"][0] for n, s in ((10, few), (250, many))}
    assert width[250] < width[10] / 3  # about 1/sqrt(25) = 1/5 as wide
    # vectorised resamples agree with scoring each resample the slow way
    frame = tracks_of([("jazz", 2, 1), ("jazz", 1, 1), ("rock", 3, 0)])
    weights = np.array([[2, 0, 1], [0, 2, 1], [0, 3, 0]])
    spread = bootstrap_scores(track_table(frame), weights)
    np.testing.assert_allclose(spread["accuracy"], [2 / 7, 2 / 5, 1.0])
    np.testing.assert_allclose(spread["macro_recall"], [(2 / 4 + 0) / 2, (2 / 2 + 0) / 2, 1.0])


def test_metrics_keep_the_headline_numbers_only():
    frame = predictions(["rock", "pop"], ["pop", "pop"], transforms=["original", "noise"])
    report = evaluate({"mlp": frame, "ensemble": frame})
    assert metrics(report) == {
        name: {
            scope: {k: report[name][scope][k] for k in ("accuracy", "macro_recall", "macro_f1")}
            for scope in ("test", "test_original")
        }
        for name in ("mlp", "ensemble")
    }


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
    voted = vote_tables(frames, {"mlp": 3.0, "rnn": 1.0, "lstm": 0.0})
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
        vote_tables({"mlp": one, "rnn": other}, {"mlp": 1.0, "rnn": 1.0})


def test_plot_tables():
    frame = predictions(["rock", "pop"], ["pop", "pop"])
    assert confusion_frame(frame).to_dict("list") == {
        "actual": ["rock", "pop"],
        "predicted": ["pop", "pop"],
    }
    recall = recall_frame(evaluate({"mlp": frame, "ensemble": frame}))
    assert list(recall.columns) == ["genre", "mlp", "ensemble"]
    assert recall.set_index("genre").loc["pop"].tolist() == [1.0, 1.0]
    assert recall["genre"].tolist() == ["pop", "rock"]  # the genres in the test set, in order


def test_read_predictions_errors_name_the_stage(tmp_path):
    with pytest.raises(GenreError, match="lstm.parquet is missing: run `dvc repro train_lstm`"):
        read_predictions(tmp_path / "lstm.parquet", made_by="train_lstm")
    predictions(["rock"], ["pop"]).drop(columns="predicted").to_parquet(tmp_path / "old.parquet")
    with pytest.raises(GenreError, match=r"lacks columns \['predicted'\].*stale"):
        read_predictions(tmp_path / "old.parquet", made_by="train_rnn")
    predictions(["rock"], ["pop"]).drop(columns="prob_rock").to_parquet(tmp_path / "old.parquet")
    with pytest.raises(
        GenreError, match=r"names genres it has no prob_<genre> column for \(\['rock'\]\).*stale"
    ):
        read_predictions(tmp_path / "old.parquet", made_by="train_rnn")
    one_genre = predictions(["rock"], ["rock"], genres=("rock",))
    one_genre.to_parquet(tmp_path / "old.parquet")
    with pytest.raises(GenreError, match=r"no prob_<genre> columns for a sorted list of 2"):
        read_predictions(tmp_path / "old.parquet", made_by="train_rnn")


THREE = ("chiptune", "drone", "polka")  # a data set of made-up genres


def test_a_table_of_other_genres_is_read_voted_and_scored_over_its_own_genres(tmp_path):
    actual = ["chiptune", "chiptune", "drone", "drone"]
    a = predictions(actual, ["chiptune", "drone", "drone", "drone"], genres=THREE)
    a.to_parquet(tmp_path / "mlp.parquet")
    read = read_predictions(tmp_path / "mlp.parquet", made_by="train_mlp")
    assert genres_of(read) == THREE
    assert list(read.columns)[-3:] == ["prob_chiptune", "prob_drone", "prob_polka"]
    b = predictions(actual, ["polka", "polka", "drone", "drone"], genres=THREE)
    voted = vote_tables({"mlp": read, "rnn": b}, {"mlp": 1.0, "rnn": 1.0})
    assert list(voted.columns) == list(read.columns)
    np.testing.assert_allclose(voted[prob_columns(THREE)].sum(axis=1), 1.0)
    report = evaluate({"mlp": read, "ensemble": voted})
    assert report["test_tracks_per_genre"] == {"chiptune": 1, "drone": 1, "polka": 0}
    assert report["absent_genres"] == ["polka"]
    assert report["mlp"]["test"]["recall"] == {"chiptune": 0.5, "drone": 1.0}
    assert recall_frame(report)["genre"].tolist() == ["chiptune", "drone"]


def test_tables_over_different_genres_are_stale():
    gtzan = predictions(["blues", "pop"], ["blues", "pop"])
    other = predictions(["chiptune", "drone"], ["chiptune", "drone"], genres=THREE)
    with pytest.raises(GenreError, match="rnn and mlp are over different genres.*dvc repro"):
        check_same_clips({"mlp": gtzan, "rnn": other})
    with pytest.raises(GenreError, match="over different genres"):
        evaluate({"mlp": gtzan, "rnn": other})


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


def describe_models(project, *, hop_lengths=None) -> dict[str, dict]:
    """models/<arch>.json as the train stages write them (the model files, data/raw/index.csv
    and data/split/split.csv: stand-ins), each at its featurize.hop_length (default 512)."""
    for path, text in (("data/raw/index.csv", "track_id\n"), ("data/split/split.csv", "clip\n")):
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    (project / "models").mkdir(exist_ok=True)
    descriptions = {}
    for arch in registry.names():
        (project / f"models/{arch}.keras").write_text(f"{arch} weights")
        featurize = FeaturizeParams(hop_length=(hop_lengths or {}).get(arch, 512))
        descriptions[arch] = describe(
            project / "models", arch, data=DataParams(), featurize=featurize
        )
    return descriptions


def test_ensemble_stage(predicted_project):
    from genre.models import modelset
    from genre.stages import ensemble

    descriptions = describe_models(predicted_project)
    ensemble.main()
    saved = json.loads((predicted_project / "models/ensemble.json").read_text())
    assert saved["weights"] == {"mlp": 1.0, "rnn": 1.0, "lstm": 2.0, "bilstm": 0.0}
    assert {key: saved[key] for key in modelset.SHARED} == {
        key: descriptions["rnn"][key] for key in modelset.SHARED
    }
    assert saved["models"] == {
        arch: {"md5": d["md5"], "input_shape": d["input_shape"]} for arch, d in descriptions.items()
    }
    voted = pd.read_parquet(predicted_project / "data/predictions/ensemble.parquet")
    assert voted["predicted"].tolist() == ["blues", "blues", "jazz", "jazz", "rock", "rock"]


def test_ensemble_stage_refuses_models_described_differently(predicted_project):
    from genre.stages import ensemble

    describe_models(predicted_project, hop_lengths={"lstm": 256})
    with pytest.raises(GenreError, match="lstm.json disagrees with .*mlp.json on featurize.hop"):
        ensemble.main()
    assert not (predicted_project / "models/ensemble.json").exists()


def vote_and_add_baseline(project) -> None:
    """The ensemble's and the baseline's predictions beside the four models' (no training)."""
    folder = project / "data/predictions"
    frames = {a: pd.read_parquet(folder / f"{a}.parquet") for a in registry.names()}
    vote_tables(frames, dict.fromkeys(registry.names(), 1.0)).to_parquet(
        folder / "ensemble.parquet"
    )
    baseline = frames["mlp"].assign(predicted=["blues", "jazz", "jazz", "jazz", "rock", "rock"])
    baseline.to_parquet(folder / "baseline.parquet")


def test_evaluate_stage_writes_metrics_report_and_plot_tables(predicted_project, capsys):
    from genre.stages import evaluate

    vote_and_add_baseline(predicted_project)
    evaluate.main()
    models = ["baseline", *registry.names(), "ensemble"]
    report = json.loads((predicted_project / "metrics/report.json").read_text())
    assert list(report) == [*models, "test_tracks_per_genre", "absent_genres"]
    assert report["bilstm"]["test"]["accuracy"] == round(4 / 6, 6)
    assert report["bilstm"]["test_original"]["accuracy"] == round(1 / 3, 6)
    assert report["baseline"]["test"]["accuracy"] == round(5 / 6, 6)
    # the 6 clips are 3 tracks of 2 clips (t0 blues, t1 jazz, t2 rock): 7 genres absent
    assert report["absent_genres"] == [g for g in GENRES if g not in ("blues", "jazz", "rock")]
    assert report["test_tracks_per_genre"]["jazz"] == 1
    assert report["test_tracks_per_genre"]["pop"] == 0
    assert report["mlp"]["test"]["macro_recall"] == round((1 + 0.5 + 1) / 3, 6)
    for scope in ("test", "test_original"):
        scored = report["mlp"][scope]
        assert list(scored) == [
            *("accuracy", "accuracy_ci", "macro_recall", "macro_recall_ci", "macro_f1"),
            "recall",
        ]
        assert list(scored["recall"]) == ["blues", "jazz", "rock"]
        assert scored["accuracy_ci"][0] <= scored["accuracy"] <= scored["accuracy_ci"][1]

    # the DVC metric: 3 numbers per model and scope, nothing else
    headline = json.loads((predicted_project / "metrics/evaluate.json").read_text())
    assert list(headline) == models
    assert headline["mlp"] == {
        scope: {k: report["mlp"][scope][k] for k in ("accuracy", "macro_recall", "macro_f1")}
        for scope in ("test", "test_original")
    }
    for name in models:
        confusion = pd.read_csv(predicted_project / f"metrics/confusion/{name}.csv")
        assert list(confusion.columns) == ["actual", "predicted"] and len(confusion) == 6
    recall = pd.read_csv(predicted_project / "metrics/recall.csv")
    assert list(recall.columns) == ["genre", *models]
    assert recall["genre"].tolist() == ["blues", "jazz", "rock"]
    assert recall.set_index("genre").loc["jazz", "mlp"] == 0.5
    out = capsys.readouterr().out
    assert "absent from the test set" in out and "pop" in out
    assert re.search(r"baseline +test accuracy 0\.833 \[\d\.\d\d, \d\.\d\d\]", out)


def test_evaluate_needs_the_baseline(predicted_project):
    from genre.stages import evaluate

    vote_and_add_baseline(predicted_project)
    (predicted_project / "data/predictions/baseline.parquet").unlink()
    with pytest.raises(GenreError, match="baseline.parquet is missing: run `dvc repro train_base"):
        evaluate.main()


def test_evaluate_refuses_stale_ensemble(predicted_project):
    from genre.stages import evaluate

    vote_and_add_baseline(predicted_project)
    path = predicted_project / "data/predictions/mlp.parquet"
    pd.read_parquet(path).iloc[:4].to_parquet(path, index=False)  # mlp retrained on a new split
    with pytest.raises(GenreError, match="cover different test clips"):
        evaluate.main()
    assert not (predicted_project / "metrics").exists()
