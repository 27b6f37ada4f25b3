"""The model architectures: one entry each, saying what it takes and what its hidden layers are.

To add a model, register an `Architecture` here and give it a `train_<name>` stage in dvc.yaml
(tests/test_dvc_deps.py says what to add there). Everything else (inputs, training, the
ensemble, `genre predict`, the page) reads this registry.
"""

from collections.abc import Callable
from dataclasses import dataclass

from genre.errors import GenreError

ENSEMBLE = "ensemble"  # the soft vote over every registered architecture
BASELINE = "baseline"  # the logistic regression every score is read against


@dataclass(frozen=True)
class Architecture:
    """A model family. `hidden(layers, units, last=...)` makes one hidden layer from Keras'
    `layers` module; `last` is the final one (recurrent layers then stop returning sequences)."""

    name: str
    title: str  # how tables and the page name it
    sequences: bool  # takes [n, steps, dims] sequences; else [n, dims] summaries of a clip
    hidden: Callable
    weights: Callable  # (inputs, units) -> how many weights one hidden layer holds

    @property
    def stage(self) -> str:
        return stage_of(self.name)


def _dense(layers, units: int, *, last: bool):
    return layers.Dense(units, activation="relu")


def _simple_rnn(layers, units: int, *, last: bool):
    return layers.SimpleRNN(units, return_sequences=not last)


def _lstm(layers, units: int, *, last: bool):
    return layers.LSTM(units, return_sequences=not last)


def _bilstm(layers, units: int, *, last: bool):
    # Half the units each way: the concatenated output is `units` wide like the others'.
    return layers.Bidirectional(layers.LSTM(max(1, units // 2), return_sequences=not last))


def _dense_weights(inputs: int, units: int) -> int:
    return units * (inputs + 1)


def _simple_rnn_weights(inputs: int, units: int) -> int:
    return units * (inputs + units + 1)


def _lstm_weights(inputs: int, units: int) -> int:
    return 4 * units * (inputs + units + 1)


def _bilstm_weights(inputs: int, units: int) -> int:
    return 2 * _lstm_weights(inputs, max(1, units // 2))


_REGISTRY: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    """Add an architecture (its name must be new and not a reserved model name)."""
    if arch.name in _REGISTRY or arch.name in (ENSEMBLE, BASELINE):
        raise GenreError(f"architecture {arch.name!r} is already registered or reserved")
    _REGISTRY[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


for _arch in (
    Architecture("mlp", "MLP", sequences=False, hidden=_dense, weights=_dense_weights),
    Architecture(
        "rnn", "simple RNN", sequences=True, hidden=_simple_rnn, weights=_simple_rnn_weights
    ),
    Architecture("lstm", "LSTM", sequences=True, hidden=_lstm, weights=_lstm_weights),
    Architecture("bilstm", "BiLSTM", sequences=True, hidden=_bilstm, weights=_bilstm_weights),
):
    register(_arch)


def names() -> tuple[str, ...]:
    """The registered architectures, in registration order (the ensemble's members)."""
    return tuple(_REGISTRY)


def get(name: str) -> Architecture:
    """The architecture called `name`; GenreError listing the known ones otherwise."""
    if name not in _REGISTRY:
        raise GenreError(f"unknown architecture {name!r}: choose one of {', '.join(names())}")
    return _REGISTRY[name]


def choices() -> tuple[str, ...]:
    """What `genre predict --model` and the page offer: the ensemble or one architecture."""
    return (ENSEMBLE, *names())


def stage_of(model: str) -> str:
    """The dvc.yaml stage that makes `model`'s files: train_<arch>, train_baseline, ensemble."""
    return ENSEMBLE if model == ENSEMBLE else f"train_{model}"
