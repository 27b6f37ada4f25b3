"""Self-describing models: what using a trained model requires, written beside it.

models/<arch>.json holds the genres in output order, the sample rate, clip length and featurize
settings, the feature names, the input shape, the md5 of the .keras file and fingerprints of the
data; models/ensemble.json the set's, with the weights. `check_model_set` refuses, in one line,
a set that cannot be used as described (docs/predict.md).
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from genre.errors import GenreError
from genre.features.layout import FeatureSettings
from genre.files import md5sum
from genre.models import registry
from genre.params import DataParams, FeaturizeParams
from genre.paths import INDEX, MODELS_DIR, SPLIT

FORMAT = 1  # bump when the description's meaning changes; older files are refused
SHARED = ("genres", "sample_rate", "duration_s", "featurize", "features", "data")  # set-wide
REBUILD = "run `dvc repro` (or `dvc exp apply` the experiment again) for a consistent model set"


def model_path(arch: str, models_dir: Path = MODELS_DIR) -> Path:
    return Path(models_dir) / f"{arch}.keras"


def description_path(model: str, models_dir: Path = MODELS_DIR) -> Path:
    """models/<arch>.json, or models/ensemble.json for model "ensemble"."""
    return Path(models_dir) / f"{model}.json"


def describe_model(
    arch: str,
    *,
    model_file: Path,
    shape: tuple[int, ...],
    genres: tuple[str, ...],
    data: DataParams,
    featurize: FeaturizeParams,
    index_path: Path = INDEX,
    split_path: Path = SPLIT,
) -> dict:
    """The description of the trained `arch` saved at model_file, taking inputs `shape` and
    predicting `genres` (its outputs in order: the training Inputs.genres)."""
    settings = FeatureSettings(data.sample_rate, data.duration_s, featurize)
    want = settings.input_shape(sequences=registry.get(arch).sequences)
    if tuple(shape) != want:
        raise GenreError(
            f"{arch} was trained on inputs shaped {tuple(shape)}, but data.duration_s and "
            f"featurize give {want}: the features are stale, run `dvc repro featurize`"
        )
    for path, stage in ((index_path, "download"), (split_path, "split")):
        if not Path(path).is_file():
            raise GenreError(f"{path} is missing: run `dvc repro {stage}` first")
    return {
        "format": FORMAT,
        "model": arch,
        "md5": md5sum(model_file),
        "input_shape": list(shape),
        "genres": list(genres),
        "sample_rate": data.sample_rate,
        "duration_s": data.duration_s,
        "featurize": asdict(featurize),
        "features": list(settings.names),
        "data": {
            "source": data.source,
            "local_path": data.local_path if data.source in ("local", "fma") else None,
            "index_md5": md5sum(index_path),
            "split_md5": md5sum(split_path),
        },
    }


def describe_ensemble(
    descriptions: dict[str, dict], *, weights: dict[str, float], models_dir: Path = MODELS_DIR
) -> dict:
    """models/ensemble.json: the weights, the set-wide description (the four must agree) and
    each model's md5 and input shape."""
    first = next(iter(descriptions))
    for arch, description in descriptions.items():
        _agree(
            description,
            descriptions[first],
            path=description_path(arch, models_dir),
            other=description_path(first, models_dir),
        )
    return {
        "format": FORMAT,
        "weights": {arch: float(weights[arch]) for arch in descriptions},
        **{key: descriptions[first][key] for key in SHARED},
        "models": {
            arch: {"md5": d["md5"], "input_shape": d["input_shape"]}
            for arch, d in descriptions.items()
        },
    }


def read(path: Path, *, model: str) -> dict:
    """A description file, checked to be of this FORMAT and complete."""
    path = Path(path)
    made_by = registry.stage_of(model)
    if not path.is_file():
        raise GenreError(
            f"{path} is missing: the model has no description (made before models described "
            f"themselves?): {REBUILD}"
        )
    try:
        description = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise GenreError(f"{path} is unreadable ({err}): run `dvc repro {made_by}`") from None
    own = ("weights", "models") if model == registry.ENSEMBLE else ("md5", "input_shape")
    keys = {*SHARED, "format", *own}
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        got = description.get("format") if isinstance(description, dict) else None
        raise GenreError(
            f"{path} is not a model description of format {FORMAT} (got {got}; made before "
            f"models described themselves?): {REBUILD}"
        )
    missing = sorted(keys - set(description))
    if missing:
        raise GenreError(f"{path} lacks {', '.join(missing)}: {REBUILD}")
    if not all(
        isinstance(description[k], dict) for k in ("featurize", "data", "models") if k in keys
    ):
        raise GenreError(
            f"{path} is malformed (featurize, data, models are not mappings): {REBUILD}"
        )
    return description


@dataclass(frozen=True)
class CheckedSet:
    """A model set whose description files agree with each other and with the .keras files:
    the genres it predicts (in output order), the settings its inputs are computed with,
    `weights` of the models to load (those with weight > 0) and their input shapes."""

    description: dict
    genres: tuple[str, ...]
    features: FeatureSettings
    weights: dict[str, float]
    shapes: dict[str, tuple[int, ...]]


def check_model_set(models_dir: Path = MODELS_DIR, *, choice: str = "ensemble") -> CheckedSet:
    """Read and cross-check the descriptions `choice` ("ensemble" or an architecture) needs:
    each model's md5 matches its .keras file, its input shape follows from its settings, this
    code computes the features it was trained on, and (ensemble) every model agrees with
    ensemble.json. GenreError with one line saying what differs and what to run."""
    models_dir = Path(models_dir)
    if choice == registry.ENSEMBLE:
        path = description_path(choice, models_dir)
        if not path.is_file():
            raise GenreError(f"no trained ensemble {path} yet: run `dvc repro` first")
        description = read(path, model=choice)
        weights = _weights(description, path=path)
    elif choice in registry.names():
        if not model_path(choice, models_dir).is_file():
            raise GenreError(
                f"no trained model {model_path(choice, models_dir)} yet: run `dvc repro` first"
            )
        path = description_path(choice, models_dir)
        description = read(path, model=choice)
        weights = {choice: 1.0}
    else:
        raise GenreError(f"unknown model {choice!r}: choose {', '.join(registry.choices())}")
    genres, settings = _genres(description, path=path), _settings(description, path=path)
    shapes = {}
    for arch, weight in weights.items():
        if weight <= 0:
            continue
        shapes[arch] = _check_model(arch, models_dir, description, path=path, settings=settings)
    return CheckedSet(description, genres, settings, {a: weights[a] for a in shapes}, shapes)


def _check_model(arch: str, models_dir: Path, set_description: dict, *, path: Path, settings):
    """One model's description against the set's and its .keras file; its input shape."""
    keras_file = model_path(arch, models_dir)
    if not keras_file.is_file():
        raise GenreError(f"no trained model {keras_file} yet: run `dvc repro` first")
    own_path = description_path(arch, models_dir)
    own = read(own_path, model=arch) if own_path != path else set_description
    if own is not set_description:
        _agree(own, set_description, path=own_path, other=path)
        entry = set_description["models"].get(arch, {})
        for key in ("md5", "input_shape"):
            if own.get(key) != entry.get(key):
                raise GenreError(
                    f"{own_path} disagrees with {path} on {key} ({own.get(key)} vs "
                    f"{entry.get(key)}): {keras_file} was retrained after the ensemble; {REBUILD}"
                )
    if md5sum(keras_file) != own["md5"]:
        raise GenreError(
            f"{keras_file} is not the model {own_path} describes (its md5 differs: replaced or "
            f"retrained on its own?): {REBUILD}"
        )
    want = settings.input_shape(sequences=registry.get(arch).sequences)
    if tuple(own["input_shape"]) != want:
        raise GenreError(
            f"{own_path} says {arch} takes inputs shaped {tuple(own['input_shape'])}, but its "
            f"settings (duration_s, featurize) give {want}: {REBUILD}"
        )
    return want


def _agree(description: dict, reference: dict, *, path: Path, other: Path) -> None:
    """Refuse when two descriptions differ on a set-wide key, naming the first difference."""
    for key in SHARED:
        mine, theirs = description.get(key), reference.get(key)
        if mine == theirs:
            continue
        name = key
        if isinstance(mine, dict) and isinstance(theirs, dict):
            sub = next(k for k in (*mine, *theirs) if mine.get(k) != theirs.get(k))
            name, mine, theirs = f"{key}.{sub}", mine.get(sub), theirs.get(sub)
        raise GenreError(
            f"{path} disagrees with {other} on {name} ({mine} vs {theirs}): the models come "
            f"from different runs; {REBUILD}"
        )


def _weights(description: dict, *, path: Path) -> dict[str, float]:
    try:
        weights = {arch: float(w) for arch, w in description["weights"].items()}
    except (AttributeError, TypeError, ValueError):
        raise GenreError(f"{path} holds no weights per model: {REBUILD}") from None
    unknown = sorted(set(weights) - set(registry.names()))
    if unknown or min(weights.values(), default=-1) < 0 or sum(weights.values()) <= 0:
        raise GenreError(
            f"{path} has weights {weights}, not >= 0 over {', '.join(registry.names())} with one "
            f"above 0: run `dvc repro ensemble`"
        )
    return weights


def _settings(description: dict, *, path: Path) -> FeatureSettings:
    """The description's settings, refused when this code cannot compute what they say."""
    featurize = description["featurize"]
    known = {f.name for f in fields(FeaturizeParams)}
    if not isinstance(featurize, dict) or set(featurize) != known:
        got = sorted(featurize) if isinstance(featurize, dict) else featurize
        raise GenreError(
            f"{path} has featurize settings {got}, this code has {sorted(known)}: {REBUILD}"
        )
    try:
        data = DataParams(
            sample_rate=description["sample_rate"], duration_s=description["duration_s"]
        )
        params = FeaturizeParams(**featurize)
    except GenreError as err:  # the message starts `params.yaml: `
        raise GenreError(f"{path}: {str(err).removeprefix('params.yaml: ')}") from None
    settings = FeatureSettings(data.sample_rate, data.duration_s, params)
    if list(description["features"]) != list(settings.names):
        raise GenreError(
            f"{path}: the models take features this code does not compute in that order "
            f"(trained by another version?): {REBUILD}"
        )
    return settings


def _genres(description: dict, *, path: Path) -> tuple[str, ...]:
    genres = description["genres"]
    if not isinstance(genres, list) or len(genres) < 2 or len(set(genres)) != len(genres):
        raise GenreError(f"{path} lists genres {genres!r}, not distinct names: {REBUILD}")
    return tuple(genres)
