"""What `dvc exp show` displays stays readable: every metrics file dvc.yaml declares holds
numbers only, and together they make at most MAX_COLUMNS columns (one per flattened key).

The files are written by the real split and evaluate stages on made-up inputs (the slow
pipeline test counts the columns of a real `dvc exp show` too)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from helpers import ROOT

from genre import GENRES
from genre.models import registry
from genre.models.predictions import prob_columns

MAX_COLUMNS = 40
MODELS = ("baseline", *registry.names(), "ensemble")


def leaves(data: dict, prefix: str = ""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def made_up_project(folder: Path) -> None:
    """summary.parquet of 10 genres x 4 tracks x 3 clips, and every model's test predictions."""
    rows = [
        (f"{g}.{t:05d}.{tr}", f"{g}.{t:05d}", g, tr)
        for g in GENRES
        for t in range(4)
        for tr in ("original", "noise1", "shift1")
    ]
    clips = pd.DataFrame(rows, columns=["clip_id", "track_id", "genre", "transform"])
    (folder / "data/features").mkdir(parents=True)
    clips.assign(zcr_mean=0.1).to_parquet(folder / "data/features/summary.parquet")
    (folder / "params.yaml").write_text("split: {strategy: track, test_size: 0.25}\n")
    test = clips[clips["track_id"].str.endswith("0")].reset_index(drop=True)
    rng = np.random.default_rng(0)
    (folder / "data/predictions").mkdir(parents=True)
    for model in MODELS:
        probs = rng.dirichlet(np.ones(len(GENRES)), size=len(test))
        frame = test.assign(predicted=[GENRES[i] for i in probs.argmax(axis=1)])
        frame[prob_columns(GENRES)] = probs
        frame.to_parquet(folder / f"data/predictions/{model}.parquet")


def test_declared_metrics_are_few_numbers(tmp_path, monkeypatch):
    from genre.stages import evaluate, split

    made_up_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    split.main()
    evaluate.main()
    declared = yaml.safe_load((ROOT / "dvc.yaml").read_text())["metrics"]
    unmade = [path for path in declared if not (tmp_path / path).is_file()]
    assert not unmade, f"declared metrics this test does not make (add them here): {unmade}"
    columns = {}
    for path in declared:
        data = json.loads((tmp_path / path).read_text())
        columns.update({f"{path}:{key}": value for key, value in leaves(data)})
    not_numbers = {k: v for k, v in columns.items() if type(v) not in (int, float)}
    assert not not_numbers, f"metrics must be numbers (lists and text go elsewhere): {not_numbers}"
    assert len(columns) <= MAX_COLUMNS, f"{len(columns)} metric columns: {sorted(columns)}"
    # what a person compares at a glance: 3 scores x 2 scopes of every model
    for model in MODELS:
        for scope in ("test", "test_original"):
            for score in ("accuracy", "macro_recall", "macro_f1"):
                assert f"metrics/evaluate.json:{model}.{scope}.{score}" in columns
