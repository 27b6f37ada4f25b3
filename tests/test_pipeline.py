"""The whole pipeline with DVC, end to end, in a temporary git repository on a tiny
configuration: `dvc repro`, then an experiment on a model parameter."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genre import ARCHITECTURES, GENRES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv running the tests: dvc, python
MODELS = (*ARCHITECTURES, "ensemble")
TRAINING = {f"train_{arch}" for arch in ARCHITECTURES}
TINY = {
    "data": {"clips_per_genre": 5, "duration_s": 3},  # 50 tracks: 10 test, 40 train
    "augment": {"factor": 2},
    "model": {"units": 8, "layers": 1},
    "train": {"epochs": 2, "batch_size": 16, "patience": 2},
}


def run(repo: Path, *args: str) -> str:
    """Run a command in `repo`; fail the test with its output if it fails."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{output}"
    return output


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git + DVC repository with the project's pipeline, code and a tiny params.yaml."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(
        ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copy(ROOT / "dvc.yaml", repo)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "git", "init", "-q")
    run(repo, "dvc", "init", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "tiny project")
    return repo


@pytest.mark.slow
def test_repro_then_experiment_reruns_only_the_models(repo):
    output = run(repo, "dvc", "repro")
    assert {"download", "split", *TRAINING, "ensemble", "evaluate"} <= stages_run(output)
    report = json.loads((repo / "metrics/evaluate.json").read_text())
    assert list(report) == list(MODELS)
    for name in MODELS:
        for subset in ("test", "test_original"):
            scores = report[name][subset]
            assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1
            assert list(scores["recall"]) == list(GENRES)
    for arch in ARCHITECTURES:
        assert (repo / f"models/{arch}.keras").is_file()
        assert (repo / f"metrics/train/{arch}/metrics.json").is_file()
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "pipeline run")
    assert stages_run(run(repo, "dvc", "repro")) == set()

    plots = run(repo, "dvc", "plots", "show", "--json")
    rendered = json.loads(plots[plots.index("{") :])
    assert not rendered.get("errors")
    names = set(rendered["data"])
    assert {f"Confusion matrix, {m}" for m in MODELS} <= names
    assert {f"Recall per genre, {m}" for m in MODELS} <= names

    output = run(repo, "dvc", "exp", "run", "-S", "model.units=16")
    assert stages_run(output) == {*TRAINING, "ensemble", "evaluate"}
    assert stages_run(run(repo, "dvc", "repro")) == set()

    params = json.loads(run(repo, "dvc", "params", "diff", "--json"))
    assert params["params.yaml"]["model.units"] == {"old": 8, "new": 16, "diff": 8}
    metrics = json.loads(run(repo, "dvc", "metrics", "diff", "--json"))
    assert "metrics/train/mlp/metrics.json" in metrics
    assert "train.loss" in metrics["metrics/train/mlp/metrics.json"]
    table = run(repo, "dvc", "exp", "show", "--csv")
    header, *rows = csv.reader(table.strip().splitlines())
    units = [row[header.index("model.units")] for row in rows]
    assert "8" in units and "16" in units
    assert any(column.startswith("ensemble.test.accuracy") for column in header)
