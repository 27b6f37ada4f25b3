"""Reading, combining (soft voting) and scoring test-set predictions.

A predictions table has one row per test clip: clip_id, track_id, genre (the truth),
transform, predicted, and prob_<genre> for each genre of the data (its genre list, sorted: the
models' output order). The table's own prob_<genre> columns say which genres it is over; the
tables compared or combined must share them.

Scores: accuracy, and recall and F1 averaged over the genres present in the test set, on all
test clips and on their original clips alone, each with a 95% bootstrap interval that resamples
test TRACKS (all clips of a song move together), since clips of one song are not independent.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, recall_score

from genre import GENRE_NAME, genre_list
from genre.errors import GenreError

BASE_COLUMNS = ["clip_id", "track_id", "genre", "transform", "predicted"]
PROB_PREFIX = "prob_"
DIGITS = 6  # metrics are rounded for reading; identical runs still give identical files
CI_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000  # resamples of the test tracks for every interval
BOOTSTRAP_SEED = 42  # fixed: the same predictions always give the same intervals
HEADLINE = ("accuracy", "macro_recall", "macro_f1")  # per model and scope, in the metrics
REPORT_KEYS = ("test_tracks_per_genre", "absent_genres")  # report keys that are not models


def prob_columns(genres) -> list[str]:
    """The probability columns of a table over `genres`: prob_<genre>, in order."""
    return [f"{PROB_PREFIX}{g}" for g in genres]


def genres_of(frame: pd.DataFrame) -> tuple[str, ...]:
    """The genres a predictions table is over, from its prob_<genre> columns, in order."""
    return tuple(c.removeprefix(PROB_PREFIX) for c in frame.columns if c.startswith(PROB_PREFIX))


def columns(genres) -> list[str]:
    """Every column of a predictions table over `genres`, in order."""
    return [*BASE_COLUMNS, *prob_columns(genres)]


def read_predictions(path: str | Path, *, made_by: str) -> pd.DataFrame:
    """One model's predictions file, checked for its columns and genres: prob_<genre> columns
    for a sorted list of 2 or more genres, and no clip of (or predicted as) another genre."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro {made_by}` first")
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises many types for a broken file
        raise GenreError(
            f"{path} is unreadable ({type(err).__name__}): run `dvc repro {made_by}`"
        ) from None
    missing = [c for c in BASE_COLUMNS if c not in frame.columns]
    if missing:
        raise GenreError(
            f"{path} lacks columns {missing[:3]}: it is stale, run `dvc repro {made_by}`"
        )
    genres = genres_of(frame)
    if (
        len(genres) < 2
        or genres != genre_list(genres)
        or not all(GENRE_NAME.fullmatch(g) for g in genres)
    ):
        raise GenreError(
            f"{path} has no prob_<genre> columns for a sorted list of 2 or more genres (it has "
            f"{list(genres)[:3]}): it is stale, run `dvc repro {made_by}`"
        )
    unknown = sorted((set(frame["genre"]) | set(frame["predicted"])) - set(genres))
    if frame.empty or unknown:
        raise GenreError(
            f"{path} is empty or names genres it has no prob_<genre> column for "
            f"({unknown[:3]}): it is stale, run `dvc repro {made_by}`"
        )
    return frame[columns(genres)]


def check_same_clips(predictions: Mapping[str, pd.DataFrame]) -> None:
    """All tables must list the same test clips in the same order, and be over the same genres
    (prob_<genre> columns), else some are stale."""
    (first, reference), *others = predictions.items()
    for name, frame in others:
        if genres_of(frame) != genres_of(reference):
            raise GenreError(
                f"the predictions of {name} and {first} are over different genres "
                f"({', '.join(genres_of(frame))} vs {', '.join(genres_of(reference))}): some "
                "are stale, run `dvc repro` to retrain on the current data"
            )
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
    reference = next(iter(predictions.values()))
    genres = genres_of(reference)
    probs = np.average(
        np.stack([predictions[n][prob_columns(genres)].to_numpy("float64") for n in used]),
        axis=0,
        weights=[weights[n] for n in used],
    )
    frame = reference[BASE_COLUMNS[:4]].reset_index(drop=True)
    frame["predicted"] = [genres[i] for i in probs.argmax(axis=1)]
    frame[prob_columns(genres)] = probs
    return frame


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
