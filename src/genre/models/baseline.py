"""The baseline every neural score is read against: a standardized multinomial logistic
regression (scikit-learn) on the 44 summary features, fitted on every training clip.

Its test predictions have the same table as a neural model's (genre.evaluation.columns), so
`evaluate` scores it the same way. Class weights are balanced, as the neural models' are when the
genres are unbalanced (with balanced genres this changes nothing).
"""

import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from genre.errors import GenreError
from genre.files import atomic_path
from genre.models.inputs import Inputs
from genre.models.predictions import table
from genre.params import BaselineParams

CHUNK = 65536  # test clips predicted at a time


def build(*, params: BaselineParams) -> Pipeline:
    """StandardScaler then lbfgs logistic regression (multinomial for several classes)."""
    return Pipeline(
        [
            ("scale", StandardScaler(copy=False)),  # scales the fitted copy in place
            (
                "classify",
                LogisticRegression(
                    C=params.C,
                    max_iter=params.max_iter,
                    class_weight="balanced",
                    random_state=params.seed,
                ),
            ),
        ]
    )


def fit(inputs: Inputs, *, params: BaselineParams) -> tuple[Pipeline, bool]:
    """The pipeline fitted on the training clips; second item: whether lbfgs converged."""
    train = (inputs.rows["subset"] == "train").to_numpy()
    genres = inputs.rows.loc[train, "genre"]
    if genres.nunique() < 2:
        raise GenreError(
            f"the training set holds {genres.nunique()} genre(s): the baseline needs at least 2 "
            "(use more clips: data.clips_per_genre)"
        )
    rows = np.flatnonzero(train)
    if len(rows) > params.max_clips:  # a random sample: the memory a fit takes stays bounded
        rng = np.random.default_rng(params.seed)
        rows = np.sort(rng.choice(rows, size=params.max_clips, replace=False))
    model = build(params=params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(float64_rows(inputs.x, rows), inputs.rows["genre"].to_numpy()[rows])
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, converged


def float64_rows(x: np.ndarray, rows: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """x[rows] in float64 (what scikit-learn fits), read a chunk at a time from x (a memory
    map): no float32 copy of them all on the way."""
    out = np.empty((len(rows), x.shape[-1]), dtype=np.float64)
    for start in range(0, len(rows), chunk):
        out[start : start + chunk] = x[rows[start : start + chunk]]
    return out


def probabilities(model: Pipeline, x: np.ndarray, *, genres: tuple[str, ...], rows=None):
    """Class probabilities [n, len(genres)] of `rows` of x (all by default) in float32, as the
    Keras models give them, one column per genre of `genres` (0 for a genre absent from the
    training set); a chunk of rows at a time."""
    rows = np.arange(len(x)) if rows is None else rows
    probs = np.zeros((len(rows), len(genres)), dtype="float32")
    columns = [genres.index(g) for g in model.classes_]
    for start in range(0, len(rows), CHUNK):
        part = float64_rows(x, rows[start : start + CHUNK])
        probs[start : start + CHUNK, columns] = model.predict_proba(part)
    return probs


def predict_test(model: Pipeline, inputs: Inputs) -> pd.DataFrame:
    """Predictions of the test clips (not the `excluded` ones of a filtered split)."""
    test = (inputs.rows["subset"] == "test").to_numpy()
    probs = probabilities(model, inputs.x, rows=np.flatnonzero(test), genres=inputs.genres)
    return table(inputs.rows[test], probs, genres=inputs.genres)


def save(model: Pipeline, path: str | Path) -> None:
    """Pickle the fitted pipeline with joblib, atomically (nothing half-written)."""
    with atomic_path(path) as tmp:
        joblib.dump(model, tmp)


def load(path: str | Path) -> Pipeline:
    """A pipeline saved by `save`; only load files you made (pickle runs code)."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro train_baseline` first")
    return joblib.load(path)
