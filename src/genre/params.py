"""`params.yaml`, parsed once into typed, validated objects: one dataclass per section.

A bad value raises GenreError naming the key, e.g. `params.yaml: train.epochs must be ...`.
"""

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from genre import ARCHITECTURES
from genre.errors import GenreError

PARAMS_PATH = Path("params.yaml")
SOURCES = ("synthetic", "gtzan", "gtzan-mini", "local")
SPLIT_STRATEGIES = ("track", "clip", "filtered")


def _fail(key: str, what: str) -> None:
    raise GenreError(f"params.yaml: {key} {what}")


def _number(section: str, name: str, value: Any, *, kind: type, low=None, high=None,
            low_open=False) -> Any:
    """Check one scalar: its type and that it lies in [low, high] (or (low, high])."""
    key = f"{section}.{name}"
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


def _choice(section: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        _fail(f"{section}.{name}", f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def _range(section: str, name: str, value: Any, *, low: float, high: float | None = None,
           low_open=False) -> tuple[float, float]:
    """A [min, max] pair of numbers."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        _fail(f"{section}.{name}", f"must be a [min, max] pair, got {value!r}")
    lo, hi = (_number(section, name, v, kind=float, low=low, high=high, low_open=low_open)
              for v in value)
    if lo > hi:
        _fail(f"{section}.{name}", f"must be [min, max] with min <= max, got {value!r}")
    return lo, hi


@dataclass(frozen=True)
class DataParams:
    source: str = "synthetic"
    local_path: str | None = None
    clips_per_genre: int = 100
    duration_s: float = 30.0
    sample_rate: int = 22050
    seed: int = 42

    def __post_init__(self):
        s = "data"
        _choice(s, "source", self.source, SOURCES)
        if self.source == "local" and not self.local_path:
            _fail("data.local_path", "must name a folder when data.source is local")
        set_ = object.__setattr__
        set_(self, "clips_per_genre", _number(s, "clips_per_genre", self.clips_per_genre,
                                              kind=int, low=1, high=100_000))
        set_(self, "duration_s", _number(s, "duration_s", self.duration_s, kind=float,
                                         low=1.0, high=600.0))
        set_(self, "sample_rate", _number(s, "sample_rate", self.sample_rate, kind=int,
                                          low=4000, high=96000))
        set_(self, "seed", _number(s, "seed", self.seed, kind=int, low=0))


@dataclass(frozen=True)
class AugmentParams:
    factor: float = 7.02
    noise_snr_db: tuple[float, float] = (10.0, 30.0)
    shift_max_s: float = 5.0
    stretch_rates: tuple[float, float] = (0.8, 1.25)
    seed: int = 42

    def __post_init__(self):
        s, set_ = "augment", object.__setattr__
        set_(self, "factor", _number(s, "factor", self.factor, kind=float, low=1.0, high=100.0))
        set_(self, "noise_snr_db", _range(s, "noise_snr_db", self.noise_snr_db, low=-20.0,
                                          high=120.0))
        set_(self, "shift_max_s", _number(s, "shift_max_s", self.shift_max_s, kind=float,
                                          low=0.0, low_open=True))
        set_(self, "stretch_rates", _range(s, "stretch_rates", self.stretch_rates, low=0.25,
                                           high=4.0))
        set_(self, "seed", _number(s, "seed", self.seed, kind=int, low=0))


@dataclass(frozen=True)
class FeaturizeParams:
    n_fft: int = 2048
    hop_length: int = 512
    n_mfcc: int = 13
    window_s: float = 0.5
    n_jobs: int = 0

    def __post_init__(self):
        s, set_ = "featurize", object.__setattr__
        set_(self, "n_fft", _number(s, "n_fft", self.n_fft, kind=int, low=64, high=65536))
        set_(self, "hop_length", _number(s, "hop_length", self.hop_length, kind=int, low=1,
                                         high=self.n_fft))
        if self.n_mfcc != 13:
            _fail("featurize.n_mfcc", f"must be 13 (the 44 features are built on 13 MFCC), "
                  f"got {self.n_mfcc!r}")
        set_(self, "window_s", _number(s, "window_s", self.window_s, kind=float, low=0.0,
                                       low_open=True, high=60.0))
        set_(self, "n_jobs", _number(s, "n_jobs", self.n_jobs, kind=int, low=0, high=256))


@dataclass(frozen=True)
class SplitParams:
    strategy: str = "track"
    test_size: float = 0.2
    seed: int = 42

    def __post_init__(self):
        s, set_ = "split", object.__setattr__
        _choice(s, "strategy", self.strategy, SPLIT_STRATEGIES)
        set_(self, "test_size", _number(s, "test_size", self.test_size, kind=float, low=0.0,
                                        low_open=True, high=0.9))
        set_(self, "seed", _number(s, "seed", self.seed, kind=int, low=0))


@dataclass(frozen=True)
class ModelParams:
    units: int = 128
    layers: int = 2
    dropout: float = 0.3

    def __post_init__(self):
        s, set_ = "model", object.__setattr__
        set_(self, "units", _number(s, "units", self.units, kind=int, low=1, high=8192))
        set_(self, "layers", _number(s, "layers", self.layers, kind=int, low=1, high=16))
        set_(self, "dropout", _number(s, "dropout", self.dropout, kind=float, low=0.0,
                                      high=0.95))


@dataclass(frozen=True)
class TrainParams:
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 0.001
    patience: int = 8
    val_size: float = 0.15
    seed: int = 42

    def __post_init__(self):
        s, set_ = "train", object.__setattr__
        set_(self, "epochs", _number(s, "epochs", self.epochs, kind=int, low=1, high=10_000))
        set_(self, "batch_size", _number(s, "batch_size", self.batch_size, kind=int, low=1,
                                         high=65536))
        set_(self, "learning_rate", _number(s, "learning_rate", self.learning_rate, kind=float,
                                            low=0.0, low_open=True, high=1.0))
        set_(self, "patience", _number(s, "patience", self.patience, kind=int, low=1))
        set_(self, "val_size", _number(s, "val_size", self.val_size, kind=float, low=0.0,
                                       low_open=True, high=0.5))
        set_(self, "seed", _number(s, "seed", self.seed, kind=int, low=0))


@dataclass(frozen=True)
class EnsembleParams:
    weights: dict[str, float] | None = None

    def __post_init__(self):
        weights = self.weights if self.weights is not None else dict.fromkeys(ARCHITECTURES, 1.0)
        if not isinstance(weights, dict):
            _fail("ensemble.weights", f"must map model names to weights, got {weights!r}")
        for name, w in weights.items():
            _choice("ensemble.weights", "<key>", name, ARCHITECTURES)
            weights[name] = _number("ensemble.weights", name, w, kind=float, low=0.0)
        if sum(weights.values()) <= 0:
            _fail("ensemble.weights", "must have at least one weight above 0")
        object.__setattr__(self, "weights", {a: weights.get(a, 0.0) for a in ARCHITECTURES})


SECTIONS = {
    "data": DataParams,
    "augment": AugmentParams,
    "featurize": FeaturizeParams,
    "split": SplitParams,
    "model": ModelParams,
    "train": TrainParams,
    "ensemble": EnsembleParams,
}


def read_yaml(path: str | Path = PARAMS_PATH) -> dict:
    path = Path(path)
    if not path.is_file():
        raise GenreError(f"{path} not found: run from the project folder (where params.yaml is)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise GenreError(f"{path} is not valid YAML: {err}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise GenreError(f"{path} must hold a mapping of sections (data:, augment:, ...)")
    return data


def load(section: str, path: str | Path = PARAMS_PATH):
    """Parse and validate one section of params.yaml (missing keys take their defaults)."""
    cls = SECTIONS[section]
    raw = read_yaml(path).get(section) or {}
    if not isinstance(raw, dict):
        _fail(section, f"must be a mapping of keys, got {raw!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        _fail(f"{section}.{unknown[0]}", f"is not a known key; known: {', '.join(sorted(known))}")
    return cls(**raw)
