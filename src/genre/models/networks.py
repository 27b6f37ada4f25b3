"""The Keras networks of the registered architectures (genre.models.registry): built, saved
byte-reproducibly and loaded.

Every network starts with a Normalization layer adapted on the training data, so a saved model
takes RAW features (the scaling travels with it), and ends with a softmax over the data's genres.
"""

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from genre import kernels
from genre.errors import GenreError
from genre.models import registry
from genre.params import ModelParams

SHARED_ID = re.compile(r'("shared_object_id":\s*)(\d+)')
FIXED_DATE = "1980-01-01@00:00:00"  # in place of the save time, for byte-identical files

# The same trained bytes on any x86-64 CPU with AVX2, whatever its core count: genre.kernels
# holds oneDNN at AVX2 with TF's oneDNN ops on (benchmarks/bench_determinism.py).
keras = kernels.keras()


TRAINING_BYTES_PER_WEIGHT = 16  # float32 weight, its gradient and Adam's two moments


def weight_count(arch: str, *, dims: int, params: ModelParams, genres: int) -> int:
    """The weights of `arch` built on inputs of `dims` values (per step) with these params."""
    family = registry.get(arch)
    count, width = 0, dims  # the Normalization layer's mean and variance are constants
    for _ in range(params.layers):
        count += family.weights(width, params.units)
        width = params.units
    return count + genres * (width + 1)


def check_fits(arch: str, *, dims: int, params: ModelParams, genres: int) -> None:
    """Refuse, in one line, a model too big to train in this machine's memory."""
    need = weight_count(arch, dims=dims, params=params, genres=genres) * TRAINING_BYTES_PER_WEIGHT
    have = available_memory()
    if need > have / 2:
        raise GenreError(
            f"model.units {params.units} with model.layers {params.layers} gives the {arch} "
            f"{need // TRAINING_BYTES_PER_WEIGHT:.2g} weights, {need / 2**30:.1f} GiB to train, "
            f"over half the {have / 2**30:.1f} GiB of memory available: lower model.units or "
            "model.layers"
        )


def available_memory() -> int:
    """Bytes of memory available to a new allocation (MemAvailable), or physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def build(
    arch: str,
    *,
    train_x: np.ndarray,
    params: ModelParams,
    genres: tuple[str, ...],
    rows: np.ndarray | None = None,
) -> keras.Model:
    """Build (uncompiled) `arch` for inputs shaped like `train_x` (an array or a memory map):
    its `rows` (all by default) are the training examples whose mean and variance set the
    Normalization layer. One softmax output per genre of `genres` (the outputs, in order); each
    of `params.layers` hidden layers is followed by Dropout(params.dropout)."""
    family = registry.get(arch)
    if len(genres) < 2:
        raise GenreError(f"{arch} needs at least 2 genres to tell apart, got {list(genres)}")
    rows = np.arange(len(train_x)) if rows is None else np.asarray(rows)
    want_ndim = 3 if family.sequences else 2
    if train_x.ndim != want_ndim or len(rows) == 0:
        shape = "(n, steps, features)" if family.sequences else "(n, features)"
        raise GenreError(
            f"{arch} needs training features shaped {shape}, n > 0; got {train_x.shape}"
        )
    check_fits(arch, dims=train_x.shape[-1], params=params, genres=len(genres))
    mean, variance = moments(train_x, rows)
    normalize = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, name="normalize")
    inputs = keras.Input(shape=train_x.shape[1:], name="features")
    x = normalize(inputs)
    for i in range(params.layers):
        x = family.hidden(keras.layers, params.units, last=i == params.layers - 1)(x)
        x = keras.layers.Dropout(params.dropout)(x)
    outputs = keras.layers.Dense(len(genres), activation="softmax", name="genre")(x)
    return keras.Model(inputs, outputs, name=arch)


def moments(x: np.ndarray, rows: np.ndarray, *, chunk: int = 4096):
    """Mean and variance (float32) of every feature over `rows` of x and all their steps,
    summed in float64 a chunk of rows at a time: memory does not grow with the data."""
    dims = x.shape[-1]

    def blocks():
        for start in range(0, len(rows), chunk):
            yield np.asarray(x[rows[start : start + chunk]], dtype=np.float64).reshape(-1, dims)

    count, total = 0, np.zeros(dims)
    for block in blocks():
        count, total = count + len(block), total + block.sum(axis=0)
    mean = total / count
    squares = sum((((block - mean) ** 2).sum(axis=0) for block in blocks()), np.zeros(dims))
    return mean.astype(np.float32), (squares / count).astype(np.float32)


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


def load(path: str | Path, *, made_by: str | None = None, genres: int | None = None) -> keras.Model:
    """Load a saved model, with one clear error when it is missing or unreadable, or (given
    `genres`, the count its description lists) when it has another number of outputs."""
    path = Path(path)
    made_by = made_by or registry.stage_of(path.stem)  # models/<arch>.keras: train_<arch>
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
