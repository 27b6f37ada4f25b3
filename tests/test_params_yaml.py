"""params.yaml is read as DVC writes it: YAML 1.2 numbers, and no silently repeated keys."""

import subprocess
import sys
from pathlib import Path

import pytest

from genre import params
from genre.errors import GenreError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("written", "value"),
    [("1e-05", 1e-05), ("5e-4", 5e-4), ("1.0e-5", 1e-5), ("0.00001", 1e-05), ("1E-3", 1e-3)],
)
def test_scientific_notation_is_a_float(tmp_path, written, value):
    """`dvc exp run -S train.learning_rate=0.00001` writes `1e-05` (YAML 1.2; PyYAML: a str)."""
    path = write(tmp_path, f"train:\n  learning_rate: {written}\n")
    learning_rate = params.load("train", path).learning_rate
    assert isinstance(learning_rate, float) and learning_rate == value


def test_what_dvc_writes_is_what_we_read(tmp_path):
    """DVC's own YAML writer (the one behind `dvc exp run -S`) round-trips through read_yaml."""
    from dvc.utils.serialize import modify_yaml

    path = write(tmp_path, "train:\n  learning_rate: 0.001  # a comment\n  epochs: 40\n")
    with modify_yaml(path) as data:
        data["train"]["learning_rate"] = 0.00001
    assert "1e-05" in path.read_text()
    train = params.load("train", path)
    assert train.learning_rate == 1e-05 and train.epochs == 40


def test_yaml_1_1_booleans_are_plain_strings(tmp_path):
    """YAML 1.2: `yes`/`on` are not booleans, so a typo for a choice is named, not coerced."""
    path = write(tmp_path, "split:\n  strategy: yes\n")
    with pytest.raises(GenreError, match="split.strategy must be one of .*got 'yes'"):
        params.load("split", path)


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        ("train:\n  epochs: 3\n  batch_size: 8\n  epochs: 5\n", "train.epochs", 4),
        ("model:\n  units: 8\ntrain:\n  epochs: 3\nmodel:\n  units: 16\n", "model", 5),
        ("ensemble:\n  weights:\n    mlp: 1\n    mlp: 2\n", "ensemble.weights.mlp", 4),
    ],
)
def test_a_duplicate_key_is_refused_by_name(tmp_path, text, key, line):
    path = write(tmp_path, text)
    with pytest.raises(GenreError) as caught:
        params.load("train", path)
    message = str(caught.value)
    assert message == f"{path}: {key} is set twice (again at line {line}): keep one"
    assert "\n" not in message


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "train:\n  epochs: [3,\n")
    with pytest.raises(GenreError, match=r"is not valid YAML \(line 3\): ") as caught:
        params.load("train", path)
    assert "\n" not in str(caught.value)


def test_a_stage_refuses_a_duplicate_key_in_one_line(tmp_path):
    write(tmp_path, "augment:\n  factor: 2\n  factor: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "genre.stages.augment"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: params.yaml: augment.factor is set twice (again at line 3): keep one"
    )
