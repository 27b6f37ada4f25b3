"""Fitting one architecture on genre.models.inputs.Inputs: an early-stopping set (the split's
`valid` clips where it has them, FMA's official validation set; else a by-track part of the
training tracks), deterministic Keras fitting, and test-set predictions.
"""

import contextlib
import math
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils.class_weight import compute_class_weight
from tqdm import tqdm

from genre.errors import GenreError
from genre.models.inputs import Inputs, labels
from genre.models.networks import keras
from genre.models.predictions import table
from genre.params import ModelParams, TrainParams

MIN_DELTA = 1e-4  # early stopping: a smaller val_loss drop is no improvement


@dataclass
class TrainedModel:
    model: "keras.Model"
    predictions: pd.DataFrame  # test clips: ID_COLUMNS, predicted, prob_<genre>
    summary: dict = field(default_factory=dict)  # epochs, best/..., test/... scores
    seconds: float = 0.0


def validation_mask(rows: pd.DataFrame, *, val_size: float, seed: int) -> np.ndarray:
    """Hold out about `val_size` of the TRAINING TRACKS (all clips of a track together),
    stratified by genre: a StratifiedGroupKFold fold of 1/round(1/val_size) of the tracks, or of
    1/k when the largest genre has only k < round(1/val_size) training tracks (tiny data)."""
    most = int(rows.groupby("genre")["track_id"].nunique().max())
    if most < 2:
        raise GenreError(
            f"every genre has at most {most} training track: too few to hold out a validation "
            "part by track; add tracks (data.clips_per_genre, or more files per genre for "
            "data.source local) or lower split.test_size"
        )
    n_splits = min(max(2, round(1 / val_size)), most)
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # tiny data: "least populated class has only ..."
        warnings.simplefilter("ignore", UserWarning)
        _, val = next(folds.split(rows, rows["genre"], groups=rows["track_id"]))
    mask = np.zeros(len(rows), dtype=bool)
    mask[val] = True
    return mask


def class_weights(y: np.ndarray) -> dict[int, float] | None:
    """Balanced class weights when the classes are unbalanced, else None."""
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() == counts.max():
        return None
    weights = compute_class_weight("balanced", classes=classes, y=y)
    return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}


def configure_tensorflow(*, seed: int) -> None:
    """Seed Python, NumPy and TF, make TF ops deterministic, use the cores we may use."""
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # TF already running: a 2nd model in a process
        tf.config.threading.set_intra_op_parallelism_threads(len(os.sched_getaffinity(0)))
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _progress(arch: str, *, epochs: int) -> "keras.callbacks.Callback":
    """One tqdm bar over the epochs, none per batch (quiet when not on a terminal)."""
    # Imported here: tqdm.keras imports Keras, which must come after genre.models.networks has set
    # TensorFlow's environment (same results on any CPU).
    from tqdm.keras import TqdmCallback

    return TqdmCallback(epochs, verbose=0, tqdm_class=tqdm, desc=arch, leave=False, disable=None)


def _dataset(x, rows: np.ndarray, y=None, w=None, *, batch_size: int, shuffle_seed=None):
    """Batches of (x[rows][, y[, w]]) as tf.data, x's rows read a batch at a time (x may be a
    memory map: the data never has to fit in memory). The rows are shuffled as indices, which
    permutes them as shuffling the data itself would. No Keras array adapter: its parallel map
    makes TF 2.21 log a spurious "NodeDef mentions attribute" error on every fit/predict."""
    import tensorflow as tf

    parts = tuple(a for a in (rows, y, w) if a is not None)
    data = tf.data.Dataset.from_tensor_slices(parts if len(parts) > 1 else rows)
    if shuffle_seed is not None:
        data = data.shuffle(len(rows), seed=shuffle_seed, reshuffle_each_iteration=True)
    shape = (None, *x.shape[1:])

    def read(batch_rows):
        return np.asarray(x[batch_rows], dtype=np.float32)

    def gather(batch_rows, *rest):
        batch = tf.numpy_function(read, [batch_rows], tf.float32, stateful=False)
        batch.set_shape(shape)
        return (batch, *rest) if rest else batch

    return data.batch(batch_size).map(gather).prefetch(2)


def predict(model, x: np.ndarray, *, batch_size: int, rows: np.ndarray | None = None):
    """Class probabilities [n, genres] of a fitted Keras model on `rows` of x (all by
    default), in batches."""
    rows = np.arange(len(x)) if rows is None else rows
    return model.predict(_dataset(x, rows, batch_size=batch_size), verbose=0)


def early_stopping_sets(inputs: Inputs, *, train_params: TrainParams) -> tuple[np.ndarray, ...]:
    """fit_rows, y_fit, val_rows, y_val: the rows of inputs.x fitted and those early stopping
    watches. The split's `valid` clips (an official split's validation set) where it has some,
    the training clips all fitted; else a by-track part of the training tracks
    (validation_mask)."""
    rows, genres = inputs.rows, inputs.genres
    train_rows = np.flatnonzero((rows["subset"] == "train").to_numpy())
    valid_rows = np.flatnonzero((rows["subset"] == "valid").to_numpy())
    if len(valid_rows):
        fit, val = train_rows, valid_rows
    else:
        part = rows.iloc[train_rows].reset_index(drop=True)
        mask = validation_mask(part, val_size=train_params.val_size, seed=train_params.seed)
        fit, val = train_rows[~mask], train_rows[mask]
    y = labels(rows["genre"], genres=genres)
    return fit, y[fit], val, y[val]


def train(
    arch: str,
    inputs: Inputs,
    *,
    model_params: ModelParams,
    train_params: TrainParams,
    callbacks: list | tuple = (),
) -> TrainedModel:
    """Fit `arch` on the training clips (early stopping on the validation clips, see
    early_stopping_sets; best weights restored) and predict the test clips."""
    from genre.models.networks import build

    start = time.perf_counter()
    tp = train_params
    configure_tensorflow(seed=tp.seed)
    fit, y_fit, val, y_val = early_stopping_sets(inputs, train_params=tp)
    weights = class_weights(y_fit)
    w_fit = None if weights is None else np.array([weights[c] for c in y_fit], "float32")

    model = build(arch, train_x=inputs.x, rows=fit, params=model_params, genres=inputs.genres)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=tp.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=tp.patience, min_delta=MIN_DELTA, restore_best_weights=True
    )
    # An epoch's train steps in one TF call, its validation steps in another (Keras's
    # steps_per_execution): the same steps, without Keras's Python work between batches (the
    # MLP trains twice as fast). For fit only: predict would trace the model once per step.
    # Set here, not in compile, so the saved model's compile config stays as it was.
    model.steps_per_execution = math.ceil(len(fit) / tp.batch_size)
    x = inputs.x
    history = model.fit(
        _dataset(x, fit, y_fit, w_fit, batch_size=tp.batch_size, shuffle_seed=tp.seed),
        validation_data=_dataset(x, val, y_val, batch_size=tp.batch_size),
        epochs=tp.epochs,
        shuffle=False,  # the dataset shuffles itself, seeded
        verbose=0,
        callbacks=[stop, _progress(arch, epochs=tp.epochs), *callbacks],
    ).history
    model.steps_per_execution = 1
    best = stop.best_epoch

    test = (inputs.rows["subset"] == "test").to_numpy()  # not the valid or excluded rows
    probabilities = predict(model, x, rows=np.flatnonzero(test), batch_size=tp.batch_size)
    predictions = table(inputs.rows[test], probabilities, genres=inputs.genres)
    actual, predicted = predictions["genre"], predictions["predicted"]
    present = [g for g in inputs.genres if g in set(actual)]  # as evaluate: no recall, no vote
    recall = recall_score(actual, predicted, labels=present, average="macro", zero_division=0)
    summary = {
        "epochs": len(history["loss"]),
        "best/epoch": best + 1,
        "best/val_loss": round(float(history["val_loss"][best]), 6),
        "best/val_accuracy": round(float(history["val_accuracy"][best]), 6),
        "test/accuracy": round(float(accuracy_score(actual, predicted)), 6),
        "test/macro_recall": round(float(recall), 6),
    }
    return TrainedModel(model, predictions, summary, time.perf_counter() - start)
