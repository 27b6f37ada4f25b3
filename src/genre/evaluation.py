"""Scoring test-set predictions (genre.models.predictions tables).

Accuracy, and recall and F1 averaged over the genres present in the test set, on all test clips
and on their original clips alone, each with a 95% bootstrap interval that resamples test
TRACKS: the clips of one song are not independent, so they move together.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, recall_score

from genre import genre_list
from genre.models.predictions import check_same_clips, genres_of

DIGITS = 6  # metrics are rounded for reading; identical runs still give identical files
CI_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000  # resamples of the test tracks for every interval
BOOTSTRAP_SEED = 42  # fixed: the same predictions always give the same intervals
HEADLINE = ("accuracy", "macro_recall", "macro_f1")  # per model and scope, in the metrics
REPORT_KEYS = ("test_tracks_per_genre", "absent_genres")  # report keys that are not models


def present_genres(actual) -> list[str]:
    """The genres that have at least one clip in `actual`, in genre-list order (sorted)."""
    return list(genre_list(actual))


def scores(actual, predicted) -> dict:
    """Accuracy, macro recall, macro F1 and recall per genre. The macro averages run over the
    genres PRESENT in `actual`: a genre with no test clip has no recall (it is left out, not
    counted as 0)."""
    labels = present_genres(actual)
    recall = recall_score(actual, predicted, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(actual, predicted)), DIGITS),
        "macro_recall": round(float(np.mean(recall)), DIGITS),
        "macro_f1": round(
            float(f1_score(actual, predicted, labels=labels, average="macro", zero_division=0)),
            DIGITS,
        ),
        "recall": {g: round(float(r), DIGITS) for g, r in zip(labels, recall, strict=True)},
    }


def track_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per track (first-seen order): genre, clips, correct (clips predicted right)."""
    correct = (frame["genre"] == frame["predicted"]).astype("int64")
    return (
        frame.assign(correct=correct)
        .groupby("track_id", sort=False)
        .agg(genre=("genre", "first"), clips=("clip_id", "size"), correct=("correct", "sum"))
    )


def bootstrap_weights(n_tracks: int, *, resamples: int, seed: int) -> np.ndarray:
    """[resamples, n_tracks] counts: how often each test track is drawn in each resample of
    n_tracks tracks drawn with replacement. A track's clips all carry its count: they move
    together, as clips of one song are not independent."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_tracks, np.full(n_tracks, 1 / n_tracks), size=resamples)


def bootstrap_scores(tracks: pd.DataFrame, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro recall of every resample (`weights` from bootstrap_weights), at once.
    Macro recall averages over the genres present in the resample, as the estimate does."""
    labels = present_genres(tracks["genre"])
    onehot = (tracks["genre"].to_numpy()[:, None] == np.array(labels)[None, :]).astype("int64")
    clips, correct = tracks["clips"].to_numpy(), tracks["correct"].to_numpy()
    per_genre_clips = weights @ (clips[:, None] * onehot)  # [resamples, genres]
    per_genre_correct = weights @ (correct[:, None] * onehot)
    present = per_genre_clips > 0
    recall = np.divide(
        per_genre_correct, per_genre_clips, out=np.zeros(present.shape), where=present
    )
    return {
        "accuracy": per_genre_correct.sum(axis=1) / per_genre_clips.sum(axis=1),
        "macro_recall": recall.sum(axis=1) / present.sum(axis=1),
    }


def interval(values: np.ndarray, *, level: float = CI_LEVEL) -> list[float]:
    """The percentile interval holding `level` of the bootstrap values, [low, high]."""
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return [round(float(low), DIGITS), round(float(high), DIGITS)]


def scope_frames(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The clips each score is computed on: all test clips, and their original clips alone."""
    scopes = {"test": frame}
    original = frame[frame["transform"] == "original"]
    if len(original):
        scopes["test_original"] = original
    return scopes


def evaluate(
    predictions: Mapping[str, pd.DataFrame],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict:
    """The full report: {model: {"test"|"test_original": scores with `accuracy_ci` and
    `macro_recall_ci` (95% bootstrap over test tracks)}, "test_tracks_per_genre": {...},
    "absent_genres": [...]}. Every model is scored on the same resamples (paired)."""
    check_same_clips(predictions)
    reference = next(iter(predictions.values()))
    weights = {
        scope: bootstrap_weights(part["track_id"].nunique(), resamples=resamples, seed=seed)
        for scope, part in scope_frames(reference).items()
    }
    report: dict = {}
    for name, frame in predictions.items():
        report[name] = {}
        for scope, part in scope_frames(frame).items():
            s = scores(part["genre"], part["predicted"])
            spread = bootstrap_scores(track_table(part), weights[scope])
            report[name][scope] = {
                "accuracy": s["accuracy"],
                "accuracy_ci": interval(spread["accuracy"]),
                "macro_recall": s["macro_recall"],
                "macro_recall_ci": interval(spread["macro_recall"]),
                "macro_f1": s["macro_f1"],
                "recall": s["recall"],
            }
    tracks = reference.drop_duplicates("track_id")["genre"].value_counts()
    genres = genres_of(reference)  # the data's genres: those with no test track are absent
    report["test_tracks_per_genre"] = {g: int(tracks.get(g, 0)) for g in genres}
    report["absent_genres"] = [g for g in genres if g not in tracks]
    return report


def models_of(report: Mapping[str, dict]) -> list[str]:
    """The model names of a report (its other keys describe the test set)."""
    return [name for name in report if name not in REPORT_KEYS]


def metrics(report: Mapping[str, dict]) -> dict:
    """The few numbers `dvc exp show` displays: per model and scope, accuracy, macro recall and
    macro F1 (the intervals and recall per genre stay in the report)."""
    return {
        name: {scope: {key: s[key] for key in HEADLINE} for scope, s in report[name].items()}
        for name in models_of(report)
    }


def confusion_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Plot data for DVC's confusion template: one row per clip, actual and predicted."""
    return frame[["genre", "predicted"]].rename(columns={"genre": "actual"})


def recall_frame(report: Mapping[str, dict], *, subset: str = "test") -> pd.DataFrame:
    """Recall per genre on `subset`: a `genre` column (the genres present) and one column per
    model, for the side-by-side plot."""
    names = models_of(report)
    genres = list(report[names[0]][subset]["recall"])  # the genres present, in order
    table = {"genre": genres}
    for name in names:
        table[name] = [report[name][subset]["recall"][g] for g in genres]
    return pd.DataFrame(table)
