"""The whole pipeline with DVC, end to end, in a temporary git repository on a tiny
configuration: `dvc repro`, then an experiment on a model parameter."""

import csv
import json
from pathlib import Path

import pytest
import yaml
from tiny_project import make_project, run, stages_run  # tests/ is on sys.path under pytest

from genre import GENRES
from genre.models import registry

MODELS = ("baseline", *registry.names(), "ensemble")
MAX_METRIC_COLUMNS = 40  # what `dvc exp show` displays stays readable (it was about 200)
PLOTS = {  # the plots dvc.yaml declares: a few, each comparing the models
    "Loss per epoch, training and validation",
    "Accuracy per epoch, training and validation",
    "Recall per genre, every model",
    "Confusion matrix, ensemble",
    "Confusion matrix, baseline",
}
TRAINING = {f"train_{arch}" for arch in registry.names()}
TINY = {
    "data": {"clips_per_genre": 5, "duration_s": 3},  # 50 tracks: 10 test, 40 train
    "augment": {"factor": 2},
    "model": {"units": 8, "layers": 1},
    "train": {"epochs": 2, "batch_size": 16, "patience": 2},
}


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git + DVC repository with the project's pipeline, code and a tiny params.yaml."""
    return make_project(tmp_path / "repo", tiny=TINY)


@pytest.mark.slow
def test_repro_then_experiment_reruns_only_the_models(repo):
    output = run(repo, "dvc", "repro")
    assert {"download", "split", *TRAINING, "train_baseline", "ensemble", "evaluate"} <= (
        stages_run(output)
    )
    report = json.loads((repo / "metrics/report.json").read_text())
    assert list(report) == [*MODELS, "test_tracks_per_genre", "absent_genres"]
    assert report["test_tracks_per_genre"] == dict.fromkeys(GENRES, 1)  # 10 test tracks
    for name in MODELS:
        for subset in ("test", "test_original"):
            scores = report[name][subset]
            assert 0 <= scores["accuracy"] <= 1 and 0 <= scores["macro_f1"] <= 1
            low, high = scores["accuracy_ci"]
            assert low <= scores["accuracy"] <= high
            assert list(scores["recall"]) == list(GENRES)
    for arch in registry.names():
        assert (repo / f"models/{arch}.keras").is_file()
        assert (repo / f"metrics/train/{arch}/metrics.json").is_file()
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "pipeline run")
    assert stages_run(run(repo, "dvc", "repro")) == set()

    check_plots(repo)
    check_metric_columns(repo)

    output = run(repo, "dvc", "exp", "run", "-S", "model.units=16")
    assert stages_run(output) == {*TRAINING, "ensemble", "evaluate"}
    assert stages_run(run(repo, "dvc", "repro")) == set()

    params = json.loads(run(repo, "dvc", "params", "diff", "--json"))
    assert params["params.yaml"]["model.units"] == {"old": 8, "new": 16, "diff": 8}
    metrics = json.loads(run(repo, "dvc", "metrics", "diff", "--json"))
    assert set(metrics) == {"metrics/evaluate.json"}  # the split and the baseline are unchanged
    assert not any(key.startswith("baseline.") for key in metrics["metrics/evaluate.json"])
    table = run(repo, "dvc", "metrics", "diff", "--md").strip().splitlines()
    assert len(table) <= 2 + 5 * 6  # header + the 5 retrained models' 6 numbers: one screen
    table = run(repo, "dvc", "exp", "show", "--csv")
    header, *rows = csv.reader(table.strip().splitlines())
    units = [row[header.index("model.units")] for row in rows]
    assert "8" in units and "16" in units
    assert any(column.startswith("ensemble.test.accuracy") for column in header)


def check_plots(repo: Path) -> None:
    """Every file a declared plot reads exists, and `dvc plots show` renders them all."""
    declared = yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]
    files = set()
    for plot in declared:
        ((name, spec),) = plot.items()
        y = spec.get("y", {})
        files |= set(y) if isinstance(y, dict) else {name}
    missing = sorted(f for f in files if not (repo / f).is_file())
    assert not missing, f"declared plot files missing after a run: {missing}"
    assert {next(iter(plot)) for plot in declared} == PLOTS

    plots = run(repo, "dvc", "plots", "show", "--json")
    rendered = json.loads(plots[plots.index("{") :])
    assert not rendered.get("errors")
    assert set(rendered["data"]) == PLOTS
    for name, (content,) in ((n, rendered["data"][n]) for n in PLOTS):
        assert content["content"]["data"]["values"], f"{name} has no data"
    run(repo, "dvc", "plots", "show", "-o", "plots_html")  # HTML, written offline
    assert (repo / "plots_html/index.html").stat().st_size > 1000
    # any single model's confusion matrix, as the README says
    one = run(
        repo,
        "dvc",
        "plots",
        "show",
        "metrics/confusion/lstm.csv",
        "--template",
        "confusion",
        "-x",
        "actual",
        "-y",
        "predicted",
        "--json",
    )
    assert not json.loads(one[one.index("{") :]).get("errors")


def check_metric_columns(repo: Path) -> None:
    """The metric columns `dvc exp show` displays: numbers only, at most MAX_METRIC_COLUMNS."""

    def leaves(data, prefix=""):
        for key, value in data.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    shown = json.loads(run(repo, "dvc", "exp", "show", "--json"))
    columns = {}
    for commit in shown:
        for path, metric in commit["data"]["metrics"].items():
            columns.update({f"{path}:{k}": v for k, v in leaves(metric["data"])})
    assert not [
        c for c, v in columns.items() if isinstance(v, bool) or not isinstance(v, int | float)
    ]
    assert {c.split(":")[0] for c in columns} == {"metrics/evaluate.json", "metrics/split.json"}
    assert len(columns) <= MAX_METRIC_COLUMNS
