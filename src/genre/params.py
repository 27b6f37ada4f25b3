"""`params.yaml`, parsed once into typed, validated objects: one dataclass per section.

A bad value raises GenreError naming the key, e.g. `params.yaml: train.epochs must be ...`.
"""

from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, MappingNode, YAMLError
from ruamel.yaml.constructor import DuplicateKeyError

from genre import GENRE_NAME, GENRE_NAME_RULE, GENRES
from genre.errors import GenreError

PARAMS_PATH = Path("params.yaml")
SOURCES = ("synthetic", "gtzan", "gtzan-mini", "local", "fma")
FMA_SUBSETS = ("small", "medium", "large")  # each holds the ones before it
SPLIT_STRATEGIES = ("track", "clip", "filtered", "official")
OWN_GENRES = ("local", "fma")  # sources whose genres are known on download, not GTZAN's


def _fail(key: str, what: str) -> None:
    raise GenreError(f"params.yaml: {key} {what}")


def _check_number(key: str, value: Any, *, kind: type, low=None, high=None, low_open=False):
    """Check one scalar: its type and that it lies in [low, high] (or (low, high])."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(key, f"must be a number, got {value!r}")
    if kind is int and int(value) != value:
        _fail(key, f"must be a whole number, got {value!r}")
    value = kind(value)
    if low is not None and (value <= low if low_open else value < low):
        _fail(key, f"must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        _fail(key, f"must be <= {high}, got {value}")
    return value


def _check_pair(key: str, value: Any, **bounds) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        _fail(key, f"must be a [min, max] pair, got {value!r}")
    low, high = (_check_number(key, v, kind=float, **bounds) for v in value)
    if low > high:
        _fail(key, f"must be [min, max] with min <= max, got {value!r}")
    return low, high


def _check_choice(key: str, value: Any, *, choices: tuple[str, ...]) -> str:
    if value not in choices:
        _fail(key, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def number(default, *, kind: type = float, **bounds):
    """A numeric param: int or float, optionally bounded (low, high, low_open)."""
    return field(default=default, metadata={"check": partial(_check_number, kind=kind, **bounds)})


def pair(default, **bounds):
    """A [min, max] param."""
    return field(default=default, metadata={"check": partial(_check_pair, **bounds)})


def _check_folder_path(key: str, value: Any) -> str | None:
    """A path is text: `2024` or `[a, b]` (YAML gives a number or list) is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        hint = f": quote it, e.g. '{value}'" if isinstance(value, (int, float)) else ""
        _fail(key, f"must be a folder path (text), got {value!r}{hint}")
    if not value.strip():
        _fail(key, "must be a folder path, got an empty text")
    return value


def folder_path(default=None):
    """A filesystem path param (text, or null)."""
    return field(default=default, metadata={"check": _check_folder_path})


def _check_genres(key: str, value: Any) -> tuple[str, ...] | None:
    """null (every genre of the source) or a list of at least 2 distinct genre names."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        _fail(key, f"must be a list of genre names (or null for all), got {value!r}")
    bad = [g for g in value if not isinstance(g, str) or not GENRE_NAME.fullmatch(g)]
    if bad:
        _fail(key, f"names {bad[0]!r}, not a genre name ({GENRE_NAME_RULE})")
    twice = sorted({g for g in value if list(value).count(g) > 1})
    if twice:
        _fail(key, f"lists {twice[0]} twice: keep one")
    if len(value) < 2:
        _fail(key, f"must list at least 2 genres (a classifier needs 2), got {list(value)}")
    return tuple(value)


def genre_names(default=None):
    """A list of genre names param (or null)."""
    return field(default=default, metadata={"check": _check_genres})


def choice(default, choices: tuple[str, ...]):
    return field(default=default, metadata={"check": partial(_check_choice, choices=choices)})


class Section:
    """Base of the param sections: validates and coerces every field after __init__."""

    name = ""

    def __post_init__(self):
        for f in fields(self):
            check = f.metadata.get("check")
            if check:
                value = check(f"{self.name}.{f.name}", getattr(self, f.name))
                object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Checks that span several fields."""


@dataclass(frozen=True)
class DataParams(Section):
    name = "data"
    source: str = choice("synthetic", SOURCES)
    local_path: str | None = folder_path(None)
    fma_subset: str = choice("small", FMA_SUBSETS)  # for source fma
    genres: tuple[str, ...] | None = genre_names(None)  # null: every genre the source has
    clips_per_genre: int = number(100, kind=int, low=1, high=100_000)
    duration_s: float = number(30.0, low=1.0, high=600.0)
    sample_rate: int = number(22050, kind=int, low=4000, high=96000)
    seed: int = number(42, kind=int, low=0)

    def validate(self):
        if self.source == "local" and not self.local_path:
            _fail("data.local_path", "must name a folder when data.source is local")
        if self.genres and self.source not in OWN_GENRES:  # theirs are checked on download
            unknown = [g for g in self.genres if g not in GENRES]
            if unknown:
                _fail(
                    "data.genres",
                    f"names {unknown[0]}, not a genre of data.source {self.source} (its genres: "
                    f"{', '.join(GENRES)}): remove it, or use your own folders (data.source: "
                    "local)",
                )


@dataclass(frozen=True)
class AugmentParams(Section):
    name = "augment"
    factor: float = number(7.02, low=1.0, high=100.0)
    noise_snr_db: tuple[float, float] = pair((10.0, 30.0), low=-20.0, high=120.0)
    shift_max_s: float = number(5.0, low=0.0, low_open=True)
    stretch_rates: tuple[float, float] = pair((0.8, 1.25), low=0.25, high=4.0)
    seed: int = number(42, kind=int, low=0)


@dataclass(frozen=True)
class FeaturizeParams(Section):
    name = "featurize"
    n_fft: int = number(2048, kind=int, low=64, high=65536)
    hop_length: int = number(512, kind=int, low=1)
    n_mfcc: int = number(13, kind=int, low=13, high=13)  # the 44 features are built on 13 MFCC
    window_s: float = number(0.5, low=0.0, low_open=True, high=60.0)

    def validate(self):
        if self.hop_length > self.n_fft:
            _fail("featurize.hop_length", f"must be <= n_fft ({self.n_fft}), got {self.hop_length}")


@dataclass(frozen=True)
class SplitParams(Section):
    name = "split"
    strategy: str = choice("track", SPLIT_STRATEGIES)
    test_size: float = number(0.2, low=0.0, low_open=True, high=0.9)
    seed: int = number(42, kind=int, low=0)


@dataclass(frozen=True)
class ModelParams(Section):
    name = "model"
    units: int = number(128, kind=int, low=1, high=8192)
    layers: int = number(2, kind=int, low=1, high=16)
    dropout: float = number(0.3, low=0.0, high=0.95)


@dataclass(frozen=True)
class TrainParams(Section):
    name = "train"
    epochs: int = number(40, kind=int, low=1, high=10_000)
    batch_size: int = number(64, kind=int, low=1, high=65536)
    learning_rate: float = number(0.001, low=0.0, low_open=True, high=1.0)
    patience: int = number(3, kind=int, low=1)
    val_size: float = number(0.15, low=0.0, low_open=True, high=0.5)
    seed: int = number(42, kind=int, low=0)


@dataclass(frozen=True)
class BaselineParams(Section):
    """Standardized multinomial logistic regression on the 44 summary features."""

    name = "baseline"
    C: float = number(1.0, low=0.0, low_open=True, high=1e6)  # inverse L2 strength
    max_iter: int = number(1000, kind=int, low=1, high=1_000_000)  # lbfgs iterations
    seed: int = number(42, kind=int, low=0)


@dataclass(frozen=True)
class EnsembleParams(Section):
    name = "ensemble"
    weights: dict[str, float] | None = None  # soft-voting weight per model; unlisted: 1

    def validate(self):
        weights = self.weights if self.weights is not None else {}
        if not isinstance(weights, dict):
            _fail("ensemble.weights", f"must map model names to weights, got {weights!r}")
        checked = {
            str(model): _check_number(f"ensemble.weights.{model}", weight, kind=float, low=0.0)
            for model, weight in weights.items()
        }
        object.__setattr__(self, "weights", checked)

    def weights_for(self, models: tuple[str, ...]) -> dict[str, float]:
        """The weight of each of `models` (1 where params.yaml lists none); GenreError for a
        listed model that is not among them, or when every weight is 0."""
        unknown = [m for m in self.weights if m not in models]
        if unknown:
            _fail(
                "ensemble.weights", f"names {unknown[0]!r}, not a model: one of {', '.join(models)}"
            )
        full = {m: self.weights.get(m, 1.0) for m in models}
        if sum(full.values()) <= 0:
            _fail("ensemble.weights", "must have at least one weight above 0")
        return full


SECTIONS = {
    "data": DataParams,
    "augment": AugmentParams,
    "featurize": FeaturizeParams,
    "split": SplitParams,
    "model": ModelParams,
    "train": TrainParams,
    "baseline": BaselineParams,
    "ensemble": EnsembleParams,
}


def read_yaml(path: str | Path = PARAMS_PATH) -> dict:
    """params.yaml as DVC reads and writes it: YAML 1.2 (ruamel.yaml), so `1e-05` and `5e-4`
    (what `dvc exp run -S` writes) are floats; a duplicate key is refused, not last-one-wins."""
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} not found: run from the project folder (where params.yaml is)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GenreError(f"{path} is not UTF-8 text: is it the right file?") from None
    try:
        data = YAML(typ="safe").load(text) or {}
    except DuplicateKeyError as err:
        key = _duplicate_key(text) or err.problem
        line = err.problem_mark.line + 1
        raise GenreError(f"{path}: {key} is set twice (again at line {line}): keep one") from None
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise GenreError(f"{path} is not valid YAML{where}: {what}") from None
    if not isinstance(data, dict):
        raise GenreError(f"{path} must hold a mapping of sections (data:, augment:, ...)")
    return data


def _duplicate_key(text: str) -> str | None:
    """The dotted name of the first key set twice in one mapping, e.g. `train.epochs`."""

    def walk(node, prefix: str) -> str | None:
        if not isinstance(node, MappingNode):
            return None
        seen = set()
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            if key.value in seen:
                return name
            seen.add(key.value)
            found = walk(value, f"{name}.")
            if found:
                return found
        return None

    return walk(YAML(typ="safe").compose(text), "")


def load(section: str, path: str | Path = PARAMS_PATH):
    """Parse and validate one section of params.yaml (missing keys take their defaults)."""
    cls = SECTIONS[section]
    raw = read_yaml(path).get(section) or {}
    if not isinstance(raw, dict):
        _fail(section, f"must be a mapping of keys, got {raw!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known, key=str)  # a key may be a number: `1: x`
    if unknown:
        _fail(f"{section}.{unknown[0]}", f"is not a known key; known: {', '.join(sorted(known))}")
    return cls(**raw)
