"""The logistic-regression baseline and its stage, on made-up features."""

import numpy as np
import pandas as pd
import pytest

from genre import GENRES
from genre.errors import GenreError
from genre.models.baseline import fit, load, predict_test, save
from genre.models.inputs import Inputs
from genre.models.predictions import columns, prob_columns, read_predictions
from genre.params import BaselineParams

PROB_COLUMNS = prob_columns(GENRES)


def made_up(*, genres=GENRES, tracks_per_genre=6, clips_per_track=3, seed=0) -> Inputs:
    """Clips whose 44 features are noise around a mean per genre; 1 track in 3 is a test one."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(len(genres), 44))
    rows, x = [], []
    for g, genre in enumerate(genres):
        for t in range(tracks_per_genre):
            for c in range(clips_per_track):
                track = f"{genre}.{t:05d}"
                subset = "test" if t % 3 == 0 else "train"
                transform = "original" if c == 0 else f"noise{c}"
                rows.append((f"{track}.{transform}", track, genre, transform, subset))
                x.append(centres[g] + rng.normal(0, 1, 44))
    rows = pd.DataFrame(rows, columns=["clip_id", "track_id", "genre", "transform", "subset"])
    # features of very different scales: the standardization has to do its work
    scale = np.logspace(-3, 3, 44)
    return Inputs(x=(np.array(x) * scale).astype("float32"), rows=rows)


def test_baseline_learns_and_predicts_in_the_models_table():
    inputs = made_up()
    model, converged = fit(inputs, params=BaselineParams())
    assert converged
    frame = predict_test(model, inputs)
    assert list(frame.columns) == columns(GENRES)
    test = inputs.rows[inputs.rows["subset"] == "test"]
    assert frame["clip_id"].tolist() == test["clip_id"].tolist()
    np.testing.assert_allclose(frame[PROB_COLUMNS].sum(axis=1), 1.0, atol=1e-6)
    argmax = frame[PROB_COLUMNS].to_numpy().argmax(axis=1)
    assert frame["predicted"].tolist() == [GENRES[i] for i in argmax]
    assert (frame["predicted"] == frame["genre"]).mean() >= 0.9  # separable genres


def test_baseline_is_deterministic_and_saved_whole(tmp_path):
    inputs = made_up()
    first, _ = fit(inputs, params=BaselineParams(seed=3))
    again, _ = fit(inputs, params=BaselineParams(seed=3))
    np.testing.assert_array_equal(
        predict_test(first, inputs)[PROB_COLUMNS], predict_test(again, inputs)[PROB_COLUMNS]
    )
    save(first, tmp_path / "baseline.joblib")
    save(again, tmp_path / "again.joblib")
    assert (tmp_path / "baseline.joblib").read_bytes() == (tmp_path / "again.joblib").read_bytes()
    loaded = load(tmp_path / "baseline.joblib")
    pd.testing.assert_frame_equal(predict_test(loaded, inputs), predict_test(first, inputs))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_predictions_are_over_the_datas_own_genres():
    inputs = made_up(genres=("polka", "chiptune", "drone"))
    assert inputs.genres == ("chiptune", "drone", "polka")
    model, _ = fit(inputs, params=BaselineParams())
    frame = predict_test(model, inputs)
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
    probs = frame[prob_columns(inputs.genres)].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert frame["predicted"].tolist() == [inputs.genres[i] for i in probs.argmax(axis=1)]
    assert (frame["predicted"] == frame["genre"]).mean() >= 0.9


def test_a_genre_missing_from_training_gets_probability_zero():
    made = made_up(genres=("blues", "jazz", "rock"))
    rock = (made.rows["genre"] == "rock").to_numpy()
    inputs = Inputs(made.x, made.rows.assign(subset=np.where(rock, "test", made.rows["subset"])))
    model, _ = fit(inputs, params=BaselineParams())
    frame = predict_test(model, inputs)
    assert list(frame.columns)[-3:] == ["prob_blues", "prob_jazz", "prob_rock"]
    assert (frame["prob_rock"] == 0).all()
    assert set(frame["predicted"]) <= {"blues", "jazz"}


def test_baseline_params_are_checked():
    assert BaselineParams(C=0.5, max_iter=50).C == 0.5
    with pytest.raises(GenreError, match=r"baseline.C must be > 0.0, got 0.0"):
        BaselineParams(C=0)
    with pytest.raises(GenreError, match=r"baseline.max_iter must be a whole number"):
        BaselineParams(max_iter=2.5)


def test_one_genre_is_refused():
    with pytest.raises(GenreError, match="1 genre.*at least 2"):
        fit(made_up(genres=("blues",)), params=BaselineParams())


def test_stage_writes_the_model_and_predictions(tmp_path, monkeypatch, capsys):
    from genre.stages import baseline as stage

    inputs = made_up()
    (tmp_path / "data/features").mkdir(parents=True)
    (tmp_path / "data/split").mkdir(parents=True)
    ids = inputs.rows[["clip_id", "track_id", "genre", "transform"]]
    features = pd.DataFrame(inputs.x, columns=[f"f{i}" for i in range(44)])
    pd.concat([ids, features], axis=1).to_parquet(tmp_path / "data/features/summary.parquet")
    inputs.rows.to_csv(tmp_path / "data/split/split.csv", index=False)
    (tmp_path / "params.yaml").write_text("baseline:\n  C: 1.0\n  max_iter: 2\n  seed: 1\n")
    monkeypatch.chdir(tmp_path)

    stage.main()
    out = capsys.readouterr().out
    assert "lbfgs did not converge in baseline.max_iter=2" in out  # said, not hidden
    assert "baseline: 60 test clips, accuracy" in out
    frame = read_predictions(
        tmp_path / "data/predictions/baseline.parquet", made_by="train_baseline"
    )
    assert len(frame) == 60
    assert (tmp_path / "models/baseline.joblib").is_file()


def test_a_large_training_set_is_sampled_to_max_clips():
    """Memory that does not grow with the data: at most baseline.max_clips training clips are
    fitted, drawn with the seed (the same ones every run); the test clips are all predicted."""
    inputs = made_up(tracks_per_genre=10, clips_per_track=4)
    training = int((inputs.rows["subset"] == "train").sum())
    sampled, _ = fit(inputs, params=BaselineParams(max_clips=100))
    assert training > 100 and sampled.named_steps["scale"].n_samples_seen_ == 100
    again, _ = fit(inputs, params=BaselineParams(max_clips=100))
    np.testing.assert_array_equal(
        sampled.named_steps["classify"].coef_, again.named_steps["classify"].coef_
    )
    whole, _ = fit(inputs, params=BaselineParams())
    assert whole.named_steps["scale"].n_samples_seen_ == training
    assert len(predict_test(sampled, inputs)) == int((inputs.rows["subset"] == "test").sum())
