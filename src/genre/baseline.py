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
from genre.inputs import Inputs
from genre.params import BaselineParams
from genre.paths import ID_COLUMNS


def build(*, params: BaselineParams) -> Pipeline:
    """StandardScaler then lbfgs logistic regression (multinomial for several classes)."""
    return Pipeline(
        [
            ("scale", StandardScaler()),
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
    model = build(params=params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(inputs.x[train].astype("float64"), genres.to_numpy())
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return model, converged


def predictions_frame(
    model: Pipeline, x: np.ndarray, rows: pd.DataFrame, *, genres: tuple[str, ...]
) -> pd.DataFrame:
    """One row per clip: its ids, the predicted genre and one probability per genre of
    `genres` (the data's genre list, as the neural models; 0 for a genre absent from the
    training set)."""
    probs = np.zeros((len(rows), len(genres)), dtype="float64")
    columns = [genres.index(g) for g in model.classes_]
    probs[:, columns] = model.predict_proba(x.astype("float64"))
    frame = rows[ID_COLUMNS].reset_index(drop=True)
    frame["predicted"] = [genres[i] for i in probs.argmax(axis=1)]
    for i, genre in enumerate(genres):
        frame[f"prob_{genre}"] = probs[:, i].astype("float32")  # as the Keras models give
    return frame


def predict_test(model: Pipeline, inputs: Inputs) -> pd.DataFrame:
    """Predictions of the test clips (not the `excluded` ones of a filtered split)."""
    test = (inputs.rows["subset"] == "test").to_numpy()
    return predictions_frame(model, inputs.x[test], inputs.rows[test], genres=inputs.genres)


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
