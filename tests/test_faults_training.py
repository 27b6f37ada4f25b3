"""A train stage that fails keeps its previous outputs; a model too big to train is refused
before anything is built."""

import os
import stat

import pytest
from helpers import fabricate
from test_training import write_project  # tests/ is on sys.path under pytest

from genre.errors import GenreError
from genre.models import networks
from genre.params import ModelParams
from genre.stages import train

TINY = "model:\n  units: 8\n  layers: 1\ntrain:\n  epochs: 1\n  batch_size: 16\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    split, sequences = fabricate()
    write_project(tmp_path, split, sequences)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(TINY)
    return tmp_path


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_failed_train_stage_keeps_its_previous_outputs(project, capsys):
    train.main(["mlp"])
    live = project / "metrics/train/mlp"
    before = {p: p.read_bytes() for p in live.rglob("*") if p.is_file()}
    models = project / "models"
    models.chmod(stat.S_IRUSR | stat.S_IXUSR)  # read-only: the model cannot be saved
    try:
        with pytest.raises(SystemExit) as exit_:
            from genre.errors import run_cli

            run_cli(lambda: train.main(["mlp"]))
    finally:
        models.chmod(stat.S_IRWXU)
    assert exit_.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: models") and "Permission denied" in line
    assert {p: p.read_bytes() for p in live.rglob("*") if p.is_file()} == before


def test_a_failed_train_stage_keeps_its_dvclive_folder_whatever_fails(project, monkeypatch):
    """Root writes anywhere: make the save itself fail, as a full disk would."""
    train.main(["mlp"])
    live = project / "metrics/train/mlp"
    before = {p: p.read_bytes() for p in live.rglob("*") if p.is_file()}

    def full_disk(model, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(networks, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train.main(["mlp"])
    assert {p: p.read_bytes() for p in live.rglob("*") if p.is_file()} == before
    assert not [p for p in live.parent.iterdir() if p.name.startswith(".")]  # no temporary


@pytest.mark.parametrize("arch", ["mlp", "rnn", "lstm", "bilstm"])
def test_the_weight_count_is_keras_count(arch):
    import numpy as np

    params = ModelParams(units=12, layers=2)
    x = np.zeros((4, 44) if arch == "mlp" else (4, 5, 44), np.float32)
    x[0] = 1  # a variance above 0
    model = networks.build(arch, train_x=x, params=params, genres=("a", "b", "c"))
    assert networks.weight_count(arch, dims=44, params=params, genres=3) == model.count_params()


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(monkeypatch):
    import numpy as np

    monkeypatch.setattr(networks, "available_memory", lambda: 8 * 2**30)
    x = np.zeros((2, 60, 44), np.float32)
    huge = ModelParams(units=8192, layers=16)
    with pytest.raises(GenreError) as err:
        networks.build("lstm", train_x=x, params=huge, genres=("a", "b"))
    message = str(err.value)
    assert message.startswith(
        "model.units 8192 with model.layers 16 gives the lstm 8.3e+09 weights, 124.0 GiB"
    )
    assert "over half the 8.0 GiB of memory available: lower model.units or model.layers" in message
    assert "\n" not in message
