"""`params.yaml`, parsed once into typed, validated objects: one dataclass per section.

A bad value raises GenreError naming the key, e.g. `params.yaml: train.epochs must be ...`.
Every number is finite and bounded, every quoted value is cut short (`shown`), and the file is
read once per process, after a fast first look that refuses what no params file holds (over
MAX_BYTES, anchors and aliases, deep nesting, huge values) before the slow exact YAML 1.2 parse.
"""

import difflib
import math
import reprlib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import yaml as libyaml
from ruamel.yaml import YAML, MappingNode, YAMLError
from ruamel.yaml.constructor import DuplicateKeyError

from genre import GENRE_NAME, GENRE_NAME_RULE, GENRES
from genre.errors import GenreError, printable

PARAMS_PATH = Path("params.yaml")
SOURCES = ("synthetic", "gtzan", "gtzan-mini", "local", "fma")
FMA_SUBSETS = ("small", "medium", "large")  # each holds the ones before it
SPLIT_STRATEGIES = ("track", "clip", "filtered", "official")
OWN_GENRES = ("local", "fma")  # sources whose genres are known on download, not GTZAN's
REPRESENTATIONS = ("handcrafted", "musicnn", "both")  # the method's 44 features, an embedding

# What a params file may hold (the project's is 2 KB, 80 values, 3 levels deep). ruamel.yaml
# parses in pure Python (~0.1 ms a value), so the first look (libyaml, C) counts before it.
MAX_BYTES = 1_000_000
MAX_VALUES = 2_000  # scalars, lists and mappings in the whole file
MAX_DEPTH = 5  # nested lists/mappings: file > section > list or mapping (ensemble.weights)
MAX_TEXT = 4096  # characters in one value or key (PATH_MAX, for data.local_path)
SHOWN = 60  # characters of a value a message quotes
# numpy's RandomState, scikit-learn's random_state and keras.utils.set_random_seed take seeds
# in [0, 2**32): one bound for every seed.
SEED_MAX = 2**32 - 1
# Ensemble weights only count relative to each other: within [1e-6, 1e6] (or 0, left out),
# weighted sums of probabilities neither overflow nor lose digits to subnormal numbers.
WEIGHT_MIN, WEIGHT_MAX = 1e-6, 1e6


class _ShortRepr(reprlib.Repr):
    """reprlib, a few items deep; a huge integer is described by its length (Python refuses
    to print one of over 4300 digits)."""

    def __init__(self):
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 2, SHOWN, SHOWN, SHOWN
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4

    def repr_int(self, x, level):
        if x.bit_length() > 128:
            return f"<a number of {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()


def shown(value: Any) -> str:
    """`repr(value)` for a message: at most SHOWN characters (`...` where cut), one line."""
    return _cut(_SHORT.repr(value))


def _cut(text: str, size: int = SHOWN) -> str:
    return text if len(text) <= size else text[: size - 3] + "..."


def _name(key: Any) -> str:
    """A key the user wrote, for a dotted name in a message: short printable text as is."""
    plain = isinstance(key, str) and len(key) <= SHOWN and key.isprintable()
    return key if plain else shown(key)


def _did_you_mean(word: Any, known) -> str:
    close = difflib.get_close_matches(word, known, n=1) if isinstance(word, str) else []
    return f": did you mean {close[0]}?" if close else ""


def _fail(key: str, what: str) -> None:
    raise GenreError(f"params.yaml: {key} {what}")


def _check_number(key: str, value: Any, *, kind: type, low, high, low_open=False):
    """Check one scalar: a finite number of `kind` in [low, high] (or (low, high])."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(key, f"must be a number, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        _fail(key, f"must be a finite number, got {value}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        _fail(key, f"must be a whole number, got {value!r}")
    if value < low or (low_open and value == low):  # exact for ints of any size
        _fail(key, f"must be {'>' if low_open else '>='} {low}, got {_as_kind(value, kind)}")
    if value > high:
        _fail(key, f"must be <= {high}, got {_as_kind(value, kind)}")
    return kind(value)


def _as_kind(value, kind: type) -> str:
    try:
        return shown(kind(value))
    except OverflowError:  # an integer beyond float's range
        return shown(value)


def _check_pair(key: str, value: Any, **bounds) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        _fail(key, f"must be a [min, max] pair, got {shown(value)}")
    low, high = (_check_number(key, v, kind=float, **bounds) for v in value)
    if low > high:
        _fail(key, f"must be [min, max] with min <= max, got {shown(value)}")
    return low, high


def _check_choice(key: str, value: Any, *, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        hint = _did_you_mean(value, choices)
        _fail(key, f"must be one of {', '.join(choices)}; got {shown(value)}{hint}")
    return value


def number(default, *, low, high, kind: type = float, low_open=False):
    """A numeric param, int or float: finite, and within [low, high] ((low, high] if
    low_open). Both bounds are required: an unbounded number is how inf and 1e308 got in."""
    check = partial(_check_number, kind=kind, low=low, high=high, low_open=low_open)
    return field(default=default, metadata={"check": check})


def random_seed(default=42):
    """A random seed: what every consumer (numpy, scikit-learn, Keras) accepts."""
    return number(default, kind=int, low=0, high=SEED_MAX)


def pair(default, *, low, high):
    """A [min, max] param, both ends within [low, high]."""
    return field(default=default, metadata={"check": partial(_check_pair, low=low, high=high)})


def _check_folder_path(key: str, value: Any) -> str | None:
    """A path is text: `2024` or `[a, b]` (YAML gives a number or list) is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        hint = f": quote it, e.g. '{shown(value)}'" if number else ""
        _fail(key, f"must be a folder path (text), got {shown(value)}{hint}")
    if not value.strip():
        _fail(key, "must be a folder path, got an empty text")
    if "\0" in value:
        _fail(key, f"must be a folder path, got {shown(value)}: a NUL character is in no path")
    return value


def folder_path(default=None):
    """A filesystem path param (text, or null)."""
    return field(default=default, metadata={"check": _check_folder_path})


def _check_genres(key: str, value: Any) -> tuple[str, ...] | None:
    """null (every genre of the source) or a list of at least 2 distinct genre names."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        _fail(key, f"must be a list of genre names (or null for all), got {shown(value)}")
    for g in value:
        if not isinstance(g, str) or not GENRE_NAME.fullmatch(g):
            _fail(key, f"names {shown(g)}, not a genre name ({GENRE_NAME_RULE})")
    twice = sorted(g for g, n in Counter(value).items() if n > 1)
    if twice:
        _fail(key, f"lists {_name(twice[0])} twice: keep one")
    if len(value) < 2:
        _fail(key, f"must list at least 2 genres (a classifier needs 2), got {shown(list(value))}")
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
    seed: int = random_seed()

    def validate(self):
        if self.source == "local" and not self.local_path:
            _fail("data.local_path", "must name a folder when data.source is local")
        if self.genres and self.source not in OWN_GENRES:  # theirs are checked on download
            unknown = [g for g in self.genres if g not in GENRES]
            if unknown:
                _fail(
                    "data.genres",
                    f"names {_name(unknown[0])}, not a genre of data.source {self.source} (its "
                    f"genres: {', '.join(GENRES)}): remove it, or use your own folders "
                    "(data.source: local)",
                )


@dataclass(frozen=True)
class AugmentParams(Section):
    name = "augment"
    factor: float = number(7.02, low=1.0, high=100.0)
    noise_snr_db: tuple[float, float] = pair((10.0, 30.0), low=-20.0, high=120.0)
    shift_max_s: float = number(5.0, low=0.0, low_open=True, high=600.0)  # longest clip
    stretch_rates: tuple[float, float] = pair((0.8, 1.25), low=0.25, high=4.0)
    seed: int = random_seed()


@dataclass(frozen=True)
class FeaturizeParams(Section):
    name = "featurize"
    n_fft: int = number(2048, kind=int, low=64, high=65536)
    hop_length: int = number(512, kind=int, low=1, high=65536)  # <= n_fft, below
    n_mfcc: int = number(13, kind=int, low=13, high=13)  # the 44 features are built on 13 MFCC
    window_s: float = number(0.5, low=0.0, low_open=True, high=60.0)
    representation: str = choice("handcrafted", REPRESENTATIONS)

    def validate(self):
        if self.hop_length > self.n_fft:
            _fail("featurize.hop_length", f"must be <= n_fft ({self.n_fft}), got {self.hop_length}")


@dataclass(frozen=True)
class SplitParams(Section):
    name = "split"
    strategy: str = choice("track", SPLIT_STRATEGIES)
    test_size: float = number(0.2, low=0.0, low_open=True, high=0.9)
    seed: int = random_seed()


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
    patience: int = number(3, kind=int, low=1, high=10_000)  # as many as epochs
    val_size: float = number(0.15, low=0.0, low_open=True, high=0.5)
    seed: int = random_seed()


@dataclass(frozen=True)
class BaselineParams(Section):
    """Standardized multinomial logistic regression on the clips' summary features."""

    name = "baseline"
    C: float = number(1.0, low=0.0, low_open=True, high=1e6)  # inverse L2 strength
    max_iter: int = number(1000, kind=int, low=1, high=1_000_000)  # lbfgs iterations
    # fitted on at most this many training clips (drawn with seed): memory stays flat
    max_clips: int = number(65536, kind=int, low=100, high=100_000_000)
    seed: int = random_seed()


def _check_weight(key: str, value: Any) -> float:
    """An ensemble weight: 0 (the model left out), or within [WEIGHT_MIN, WEIGHT_MAX]."""
    weight = _check_number(key, value, kind=float, low=0.0, high=WEIGHT_MAX)
    if 0 < weight < WEIGHT_MIN:
        _fail(key, f"must be 0 (left out) or at least {WEIGHT_MIN:g}, got {weight:g}")
    return weight


@dataclass(frozen=True)
class EnsembleParams(Section):
    name = "ensemble"
    weights: dict[str, float] | None = None  # soft-voting weight per model; unlisted: 1

    def validate(self):
        weights = self.weights if self.weights is not None else {}
        if not isinstance(weights, dict):
            _fail("ensemble.weights", f"must map model names to weights, got {shown(weights)}")
        checked = {
            str(model): _check_weight(f"ensemble.weights.{_name(model)}", weight)
            for model, weight in weights.items()
        }
        object.__setattr__(self, "weights", checked)

    def weights_for(self, models: tuple[str, ...]) -> dict[str, float]:
        """The weight of each of `models` (1 where params.yaml lists none); GenreError for a
        listed model that is not among them, or when every weight is 0."""
        unknown = [m for m in self.weights if m not in models]
        if unknown:
            _fail(
                "ensemble.weights",
                f"names {shown(unknown[0])}, not a model: one of {', '.join(models)}",
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

_READ: OrderedDict[Path, tuple[str, dict]] = OrderedDict()  # path -> (its text, parsed)


def read_yaml(path: str | Path = PARAMS_PATH) -> dict:
    """params.yaml as DVC reads and writes it: YAML 1.2 (ruamel.yaml), so `1e-05` and `5e-4`
    (what `dvc exp run -S` writes) are floats; a duplicate key or an unknown section is
    refused. Parsed once per process and content: the result is shared, do not modify it."""
    path = Path(path)
    text = _read_text(path)
    key = path.resolve()
    if key in _READ and _READ[key][0] == text:
        return _READ[key][1]
    data = _parse(text, path)
    _READ[key] = (text, data)
    while len(_READ) > 4:  # tests write many files: keep the last few
        _READ.popitem(last=False)
    return data


def _read_text(path: Path) -> str:
    name = printable(path)
    if not path.is_file():
        raise GenreError(f"{name} not found: run from the project folder (where params.yaml is)")
    too_big = GenreError(
        f"{name} is over {MAX_BYTES // 1_000_000} MB, more than a params file holds (this "
        "project's is 2 KB): is it the right file?"
    )
    if path.stat().st_size > MAX_BYTES:
        raise too_big
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise GenreError(f"{name} is not UTF-8 text: is it the right file?") from None
    if len(text) > MAX_BYTES:  # it grew since, or its size was not told
        raise too_big
    return text


def _parse(text: str, path: Path) -> dict:
    name = printable(path)
    try:
        _first_look(text)
        data = YAML(typ="safe").load(text)
    except DuplicateKeyError as err:
        key = _duplicate_key(text) or err.problem
        line = err.problem_mark.line + 1
        raise GenreError(f"{name}: {key} is set twice (again at line {line}): keep one") from None
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise GenreError(f"{name} is not valid YAML{where}: {_cut(what, 2 * SHOWN)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GenreError(f"{name} must hold a mapping of sections (data:, augment:, ...)")
    for section in data:
        if section not in SECTIONS:
            hint = _did_you_mean(section, SECTIONS)
            _fail(_name(section), f"is not a known section{hint} (sections: {', '.join(SECTIONS)})")
    return data


def _first_look(text: str) -> None:
    """Refuse what no params file holds, naming the key, before ruamel.yaml's slow parse:
    anchors and aliases (`&a`, `*a`: a billion laughs in a few lines), nesting deeper than
    MAX_DEPTH, more than MAX_VALUES values, a value or key longer than MAX_TEXT. Reads the
    events of libyaml's C parser; where libyaml does not take the text, ruamel.yaml's own."""
    fast = getattr(libyaml, "CSafeLoader", libyaml.SafeLoader)
    try:
        _check_events(libyaml.parse(text, Loader=fast))
    except libyaml.YAMLError:  # YAML 1.1 and 1.2 differ a little: ruamel.yaml decides
        _check_events(YAML(typ="safe").parse(text))


def _check_events(events) -> None:
    """The checks of _first_look over a stream of parser events (libyaml's or ruamel's)."""
    frames: list[list] = []  # per open list or mapping: [is a mapping, key or index, key next]
    values = 0
    for event in events:
        kind = type(event).__name__
        if kind in ("MappingEndEvent", "SequenceEndEvent"):
            frames.pop()
            _advance(frames)
            continue
        if kind not in ("ScalarEvent", "AliasEvent", "MappingStartEvent", "SequenceStartEvent"):
            continue  # the starts and ends of the stream and documents
        is_key = bool(frames) and frames[-1][0] and frames[-1][2]
        if is_key and kind == "ScalarEvent":
            frames[-1][1] = event.value
        where = _dotted(frames)
        values += 1
        if kind == "AliasEvent" or event.anchor is not None:
            _fail(where, "uses a YAML anchor or alias (&, *): write the value out instead")
        if values > MAX_VALUES:
            what = "params are single values and short lists: is it the right file?"
            _fail(where, f"is past {MAX_VALUES} values in the file: {what}")
        if kind != "ScalarEvent":
            if is_key:
                _fail(where, "has a list or mapping as a key: a key is a name")
            if len(frames) == MAX_DEPTH:
                _fail(where, f"nests lists or mappings more than {MAX_DEPTH} deep: params don't")
            frames.append([kind == "MappingStartEvent", None if kind[0] == "M" else 0, True])
            continue
        if len(event.value) > MAX_TEXT:
            _fail(where, f"has {len(event.value)} characters, more than a param has ({MAX_TEXT})")
        if is_key:
            frames[-1][2] = False
        else:
            _advance(frames)


def _advance(frames: list[list]) -> None:
    """A value has ended: its mapping expects a key next, its list the next index."""
    if frames:
        if frames[-1][0]:
            frames[-1][2] = True
        else:
            frames[-1][1] += 1


def _dotted(frames: list[list]) -> str:
    """Where the parser is, as a message names it: `data.genres[3]`."""
    name = ""
    for is_mapping, at, _ in frames:
        if is_mapping and at is not None:
            name += f"{'.' if name else ''}{_name(at)}"
        elif not is_mapping:
            name += f"[{at}]"
    return name or "the document"


def _duplicate_key(text: str) -> str | None:
    """The dotted name of the first key set twice in one mapping, e.g. `train.epochs`."""

    def walk(node, prefix: str) -> str | None:
        if not isinstance(node, MappingNode):
            return None
        seen = set()
        for key, value in node.value:
            name = f"{prefix}{_name(key.value)}"
            if key.value in seen:
                return name
            seen.add(key.value)
            found = walk(value, f"{name}.")
            if found:
                return found
        return None

    return walk(YAML(typ="safe").compose(text), "")


def load(section: str, path: str | Path = PARAMS_PATH):
    """Parse and validate one section of params.yaml (missing keys take their defaults).
    The file is parsed once per process (read_yaml): loading several sections costs one."""
    cls = SECTIONS[section]
    raw = read_yaml(path).get(section)
    if raw is None:  # absent, or `train:` with nothing under it
        raw = {}
    if not isinstance(raw, dict):
        _fail(section, f"must be a mapping of keys, got {shown(raw)}")
    known = sorted(f.name for f in fields(cls))
    unknown = sorted((k for k in raw if k not in known), key=str)  # a key may be a number
    if unknown:
        hint = f"{_did_you_mean(unknown[0], known)} (known: {', '.join(known)})"
        _fail(f"{section}.{_name(unknown[0])}", f"is not a known key{hint}")
    return cls(**raw)
