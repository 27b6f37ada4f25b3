"""The four Keras classifiers: an MLP on summary features, and SimpleRNN, LSTM and
bidirectional LSTM on feature sequences.

Every model starts with a Normalization layer adapted on the training data, so a saved model
takes RAW features (the scaling travels with it) and ends with a softmax over the data's
genres (one output per genre, in the order of the genre list it was built with).
"""

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from genre import ARCHITECTURES
from genre.errors import GenreError, native_stderr_hidden
from genre.params import ModelParams

SHARED_ID = re.compile(r'("shared_object_id":\s*)(\d+)')
FIXED_DATE = "1980-01-01@00:00:00"  # in place of the save time, for byte-identical files

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The same trained bytes on any x86-64 CPU with AVX2, whatever its core count
# (benchmarks/bench_determinism.py): genre.kernels (run by the package's __init__, before this
# module) holds oneDNN at AVX2 with TF's oneDNN ops on; TF reads those once, on import.
# TF 2.21 still prints absl's "All log messages before absl::InitializeLog()" and a oneDNN
# note while importing, past TF_CPP_MIN_LOG_LEVEL: hide them (import errors still raise).
with native_stderr_hidden():
    import keras


def check_architecture(arch: str) -> str:
    if arch not in ARCHITECTURES:
        raise GenreError(f"unknown architecture {arch!r}: choose one of {', '.join(ARCHITECTURES)}")
    return arch


def _recurrent(arch: str, units: int, *, last: bool) -> keras.layers.Layer:
    """One recurrent layer; all but the last return the whole sequence for the next one."""
    if arch == "rnn":
        return keras.layers.SimpleRNN(units, return_sequences=not last)
    if arch == "lstm":
        return keras.layers.LSTM(units, return_sequences=not last)
    # Half the units each way: the concatenated output is `units` wide like the others'.
    half = keras.layers.LSTM(max(1, units // 2), return_sequences=not last)
    return keras.layers.Bidirectional(half)


def build(
    arch: str, *, train_x: np.ndarray, params: ModelParams, genres: tuple[str, ...]
) -> keras.Model:
    """Build (uncompiled) `arch` for inputs shaped like `train_x`, whose statistics set the
    Normalization layer: (n, features) for the MLP, (n, steps, features) for the others; one
    softmax output per genre of `genres` (the data's genre list, Inputs.genres).

    Each of `params.layers` hidden layers is `params.units` wide (units/2 each way for the
    BiLSTM) and is followed by Dropout(`params.dropout`).
    """
    check_architecture(arch)
    if len(genres) < 2:
        raise GenreError(f"{arch} needs at least 2 genres to tell apart, got {list(genres)}")
    want_ndim = 2 if arch == "mlp" else 3
    if train_x.ndim != want_ndim or len(train_x) == 0:
        shape = "(n, features)" if want_ndim == 2 else "(n, steps, features)"
        raise GenreError(
            f"{arch} needs training features shaped {shape}, n > 0; got {train_x.shape}"
        )
    normalize = keras.layers.Normalization(axis=-1, name="normalize")
    normalize.adapt(np.asarray(train_x, dtype="float32"))
    inputs = keras.Input(shape=train_x.shape[1:], name="features")
    x = normalize(inputs)
    for i in range(params.layers):
        if arch == "mlp":
            x = keras.layers.Dense(params.units, activation="relu")(x)
        else:
            x = _recurrent(arch, params.units, last=i == params.layers - 1)(x)
        x = keras.layers.Dropout(params.dropout)(x)
    outputs = keras.layers.Dense(len(genres), activation="softmax", name="genre")(x)
    return keras.Model(inputs, outputs, name=arch)


def save(model: keras.Model, path: str | Path) -> None:
    """Save atomically: write beside `path` under a `.keras` name, then rename (atomic_path:
    removed on failure or interruption, swept by the next run after a kill)."""
    from genre.files import atomic_path

    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        _make_reproducible(tmp)


def _make_reproducible(path: Path) -> None:
    """Rewrite a .keras archive so the same model gives the same bytes: Keras stores the save
    time (metadata.json), Python object ids as `shared_object_id` (config.json; they only link
    objects shared between layers, so renumbering them in order keeps their meaning) and the
    time of writing on some zip entries."""
    with zipfile.ZipFile(path) as archive:
        entries = [(info, archive.read(info)) for info in archive.infolist()]
    ids: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        return f"{match.group(1)}{ids.setdefault(match.group(2), str(len(ids) + 1))}"

    with zipfile.ZipFile(path, "w") as archive:
        for info, data in entries:
            if info.filename == "metadata.json":
                metadata = json.loads(data)
                metadata["date_saved"] = FIXED_DATE
                data = json.dumps(metadata).encode()
            elif info.filename == "config.json":
                data = SHARED_ID.sub(renumber, data.decode()).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            archive.writestr(fixed, data)


def load(
    path: str | Path, *, made_by: str = "train_<arch>", genres: int | None = None
) -> keras.Model:
    """Load a saved model, with one clear error when it is missing or unreadable, or (given
    `genres`, the count its description lists) when it has another number of outputs."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro {made_by}` first")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a corrupt file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GenreError(
            f"{path} is not a loadable Keras model ({first}): run `dvc repro {made_by}`"
        ) from None
    if genres is not None and model.output_shape[-1] != genres:
        raise GenreError(
            f"{path} predicts {model.output_shape[-1]} genres, but its description lists "
            f"{genres}: it is stale, run `dvc repro {made_by}`"
        )
    return model
