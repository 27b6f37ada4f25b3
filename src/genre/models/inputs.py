"""Training inputs: every clip's features (its summary, or its sequence of windows) aligned
with the side split.csv gives it, and the data set's genres (its sorted genre names: the
models' output order and labels).
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genre import GENRE_NAME, genre_list
from genre.errors import GenreError
from genre.files import read_csv
from genre.paths import ID_COLUMNS, SEQUENCES, SPLIT, SUMMARY


@dataclass
class Inputs:
    """Features of every clip (row i of `x` is row i of `rows`) and the split table."""

    x: np.ndarray
    rows: pd.DataFrame  # clip_id, track_id, genre, transform, subset (train|valid|test|excluded)
    genres: tuple[str, ...] = field(default=())  # model outputs; () = genre_list(rows.genre)

    def __post_init__(self):
        found = genre_list(self.rows["genre"])
        self.genres = tuple(self.genres) or found
        unknown = sorted(set(found) - set(self.genres))
        if unknown:
            raise GenreError(
                f"inputs: clips of genres {unknown[:3]} are not in the genre list "
                f"{list(self.genres)}: list every genre of the data"
            )


def _stale(path: Path, what: str, stage: str) -> GenreError:
    return GenreError(f"{path} {what}: it is stale, run `dvc repro {stage}`")


def load_inputs(
    *,
    sequences: bool,
    summary_path: Path = SUMMARY,
    sequences_path: Path = SEQUENCES,
    split_path: Path = SPLIT,
) -> Inputs:
    """Every clip's summary features, or its sequence (`sequences`), aligned with split.csv."""
    rows = read_csv(split_path, columns=[*ID_COLUMNS, "subset"], made_by="split")
    bad = sorted({str(g) for g in rows["genre"] if not GENRE_NAME.fullmatch(str(g))})
    if bad:
        raise _stale(split_path, f"has genres that are not genre names {bad[:3]}", "split")
    subsets = set(rows["subset"])
    if not {"train", "test"} <= subsets <= {"train", "test", "valid", "excluded"}:
        raise _stale(
            split_path, "needs train and test rows (and no subset but valid, excluded)", "split"
        )
    path = sequences_path if sequences else summary_path
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro featurize` first")
    try:
        if sequences:
            x = np.load(path, allow_pickle=False)
        else:
            summary = pd.read_parquet(path)
    except Exception as err:  # pyarrow and numpy raise many types for a broken file
        raise _stale(path, f"is unreadable ({type(err).__name__})", "featurize") from None
    if not sequences:
        if list(summary.get("clip_id", [])) != list(rows["clip_id"]):
            raise _stale(split_path, f"does not list the clips of {path} in order", "split")
        features = summary.drop(columns=[c for c in ID_COLUMNS if c in summary])
        if not all(pd.api.types.is_numeric_dtype(t) for t in features.dtypes):
            raise _stale(path, "has non-numeric feature columns", "featurize")
        x = features.to_numpy("float32")
    elif x.ndim != 3 or len(x) != len(rows):
        raise _stale(split_path, f"has {len(rows)} rows but {path} has shape {x.shape}", "split")
    if x.shape[-1] == 0 or not np.isfinite(x).all():
        raise _stale(path, "has no features or non-finite values", "featurize")
    return Inputs(x=np.ascontiguousarray(x, dtype="float32"), rows=rows.reset_index(drop=True))


def labels(names: pd.Series | list[str], *, genres: tuple[str, ...]) -> np.ndarray:
    """Genre names -> indices into `genres` (the data's genre list, Inputs.genres)."""
    index = {g: i for i, g in enumerate(genres)}
    return np.array([index[g] for g in names], dtype="int64")
