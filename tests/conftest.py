"""Shared fixtures. Session-scoped ones are made once per run and shared by every test file that
asks for them: treat what they return as read-only (copy a folder before editing it).

- gtzan_sample: the 10 real GTZAN clips beside the checkout (skips where absent).
- known_project: a project folder whose models/ give known answers (hand-weighted, no
  training): noise -> metal, a low tone -> classical.
- trained_models: an MLP and a SimpleRNN really trained (tiny) on synthetic signals.
- toy_architecture: a fifth architecture (a GRU) registered for one test, then removed.

Plain helpers (signals, audio files, model descriptions) are in helpers.py.
"""

import genre  # noqa: F401 - before numpy: tests hold the kernels the stages hold (genre.kernels)

# isort: split
import os
from pathlib import Path

import pytest
from helpers import GTZAN_SAMPLE, PARAMS_YAML, SR, build_models, chord, noise, tone, train_model_set
from stage_faults import local_params, music_folder, project, stage

from genre.models import registry
from genre.params import DataParams

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

TRAINED_DURATION_S = 5.0  # the trained set's clip (and window) length


@pytest.fixture(scope="session")
def gtzan_sample() -> Path:
    """The 10 real GTZAN clips beside the checkout (one per genre); skip where absent."""
    if not GTZAN_SAMPLE.is_dir():
        pytest.skip(f"real GTZAN sample not found at {GTZAN_SAMPLE}")
    return GTZAN_SAMPLE


@pytest.fixture(scope="session")
def known_project(tmp_path_factory) -> Path:
    """A project folder: params.yaml and models/ holding the known-answer set (see
    helpers.build_models), described as the train and ensemble stages describe theirs."""
    root = tmp_path_factory.mktemp("known-project")
    (root / "params.yaml").write_text(PARAMS_YAML)
    build_models(root / "models")
    return root


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory) -> Path:
    """models/ of an MLP and a SimpleRNN trained on synthetic signals: noise -> metal, tones ->
    classical, chords -> jazz (5 s clips, source `synthetic`, equal ensemble weights)."""
    clips = [(noise(TRAINED_DURATION_S, seed=s), "metal") for s in range(4)]
    clips += [(tone(TRAINED_DURATION_S, hz=hz), "classical") for hz in (110, 220, 330, 440)]
    clips += [(chord(TRAINED_DURATION_S, root=r), "jazz") for r in (196.0, 261.6, 329.6, 392.0)]
    data = DataParams(source="synthetic", duration_s=TRAINED_DURATION_S, sample_rate=SR)
    folder = tmp_path_factory.mktemp("trained")
    return train_model_set(folder, clips, archs=("mlp", "rnn"), data=data, steps=150)


def _gru(layers, units: int, *, last: bool):
    return layers.GRU(units, return_sequences=not last)


def _gru_weights(inputs: int, units: int) -> int:
    return 3 * units * (inputs + units + 2)  # Keras' GRU: reset_after, two biases per gate


@pytest.fixture
def toy_architecture():
    """A fifth architecture, "gru" (a GRU on sequences), registered for one test only: what
    adding a model to the registry does to training, the ensemble, predict and dvc.yaml."""
    arch = registry.register(
        registry.Architecture("gru", "GRU", sequences=True, hidden=_gru, weights=_gru_weights)
    )
    try:
        yield arch
    finally:
        registry.unregister(arch.name)


@pytest.fixture
def downloaded(tmp_path, monkeypatch, capsys) -> Path:
    """A project whose last good download imported music/ (3 genres x 2 clips): the stage fault
    battery's starting point (tests/stage_faults.py)."""
    music_folder(tmp_path / "music")
    project(tmp_path, local_params("music"))
    code, _, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0, err
    return tmp_path
