"""Reading, combining (soft voting) and scoring test-set predictions.

A predictions table has one row per test clip: clip_id, track_id, genre (the truth),
transform, predicted, and prob_<genre> for each of the 10 GENRES.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, recall_score

from genre import GENRES
from genre.errors import GenreError

PROB_COLUMNS = [f"prob_{g}" for g in GENRES]
COLUMNS = ["clip_id", "track_id", "genre", "transform", "predicted", *PROB_COLUMNS]
DIGITS = 6  # metrics are rounded for reading; identical runs still give identical files


def read_predictions(path: str | Path, *, made_by: str) -> pd.DataFrame:
    """One model's predictions file, checked for its columns and genres."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro {made_by}` first")
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for a broken file
        raise GenreError(
            f"{path} is unreadable ({type(err).__name__}): run `dvc repro {made_by}`"
        ) from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise GenreError(
            f"{path} lacks columns {missing[:3]}: it is stale, run `dvc repro {made_by}`"
        )
    unknown = set(frame["genre"]) | set(frame["predicted"])
    if frame.empty or not unknown <= set(GENRES):
        raise GenreError(
            f"{path} is empty or names unknown genres: it is stale, run `dvc repro {made_by}`"
        )
    return frame[COLUMNS]


def check_same_clips(predictions: Mapping[str, pd.DataFrame]) -> None:
    """All tables must list the same test clips in the same order, else some are stale."""
    (first, reference), *others = predictions.items()
    for name, frame in others:
        if (
            not frame["clip_id"]
            .reset_index(drop=True)
            .equals(reference["clip_id"].reset_index(drop=True))
        ):
            raise GenreError(
                f"the predictions of {name} and {first} cover different test clips: some are "
                "stale, run `dvc repro` to retrain on the current split"
            )


def soft_vote(predictions: Mapping[str, pd.DataFrame], weights: Mapping[str, float]):
    """Weighted mean of the models' class probabilities (models weighted 0 are left out)."""
    check_same_clips(predictions)
    used = [name for name in predictions if weights.get(name, 0) > 0]
    if not used:
        raise GenreError("ensemble.weights: at least one model needs a weight above 0")
    probs = np.average(
        np.stack([predictions[n][PROB_COLUMNS].to_numpy("float64") for n in used]),
        axis=0,
        weights=[weights[n] for n in used],
    )
    frame = next(iter(predictions.values()))[COLUMNS[:4]].reset_index(drop=True)
    frame["predicted"] = [GENRES[i] for i in probs.argmax(axis=1)]
    frame[PROB_COLUMNS] = probs
    return frame


def scores(actual, predicted) -> dict:
    """Accuracy, macro recall, macro F1 and recall per genre (0 where a genre has no clip)."""
    labels = list(GENRES)
    recall = recall_score(actual, predicted, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(actual, predicted)), DIGITS),
        "macro_recall": round(float(np.mean(recall)), DIGITS),
        "macro_f1": round(
            float(f1_score(actual, predicted, labels=labels, average="macro", zero_division=0)),
            DIGITS,
        ),
        "recall": {g: round(float(r), DIGITS) for g, r in zip(GENRES, recall, strict=True)},
    }


def evaluate(predictions: Mapping[str, pd.DataFrame]) -> dict:
    """{model: {"test": scores, "test_original": scores on the un-augmented clips}}."""
    report = {}
    for name, frame in predictions.items():
        original = frame[frame["transform"] == "original"]
        report[name] = {"test": scores(frame["genre"], frame["predicted"])}
        if len(original):
            report[name]["test_original"] = scores(original["genre"], original["predicted"])
    return report


def confusion_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Plot data for DVC's confusion template: one row per clip, actual and predicted."""
    return frame[["genre", "predicted"]].rename(columns={"genre": "actual"})


def recall_frame(report: Mapping[str, dict], *, subset: str = "test") -> pd.DataFrame:
    """Recall per genre: a `genre` column and one column per model."""
    table = {"genre": list(GENRES)}
    for name, subsets in report.items():
        table[name] = [subsets[subset]["recall"][g] for g in GENRES]
    return pd.DataFrame(table)
