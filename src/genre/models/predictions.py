"""The predictions table every model writes for the test clips, and reading it back.

One row per clip: clip_id, track_id, genre (the truth), transform, predicted, then prob_<genre>
per genre of the data in the models' output order. The table's own prob_<genre> columns say
which genres it is over; tables compared or combined must share them.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from genre import GENRE_NAME, genre_list
from genre.errors import GenreError
from genre.paths import ID_COLUMNS

BASE_COLUMNS = [*ID_COLUMNS, "predicted"]
PROB_PREFIX = "prob_"


def table(rows: pd.DataFrame, probabilities: np.ndarray, *, genres) -> pd.DataFrame:
    """The predictions table of `rows` (their ID_COLUMNS) from class probabilities
    [n, len(genres)], kept in their dtype."""
    genres = tuple(genres)
    if probabilities.shape != (len(rows), len(genres)):
        raise GenreError(
            f"{probabilities.shape[-1]} probabilities per clip for {len(genres)} genres "
            f"({len(rows)} clips, got shape {probabilities.shape})"
        )
    frame = rows[ID_COLUMNS].reset_index(drop=True)
    frame["predicted"] = [genres[i] for i in probabilities.argmax(axis=1)]
    for i, column in enumerate(prob_columns(genres)):
        frame[column] = probabilities[:, i]
    return frame


def probabilities(frame: pd.DataFrame) -> np.ndarray:
    """The table's class probabilities [n, genres] in float64."""
    return frame[prob_columns(genres_of(frame))].to_numpy("float64")


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
