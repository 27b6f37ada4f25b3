"""Real music end to end: the pipeline on gtzan-mini with musicnn's embedding (the one command
the README gives for models that recognise real songs), then `genre predict` with them."""

import json
from pathlib import Path

import pytest
from tiny_project import ROOT, completed, make_project, run  # tests/ is on sys.path

GTZAN_MINI = ROOT.parent / "shared" / "gtzan-mini"
GTZAN_SAMPLE = ROOT.parent / "shared" / "gtzan-sample"


@pytest.mark.slow
def test_musicnn_pipeline_on_gtzan_mini_then_predict(tmp_path):
    if not GTZAN_MINI.is_dir() or not GTZAN_SAMPLE.is_dir():
        pytest.skip(f"real GTZAN not found at {GTZAN_MINI} and {GTZAN_SAMPLE}")
    tiny = {
        "data": {"source": "local", "local_path": str(GTZAN_MINI)},
        "augment": {"factor": 1},
        "featurize": {"representation": "musicnn"},
        "train": {"epochs": 8},
    }
    repo = make_project(tmp_path / "repo", tiny=tiny)
    run(repo, "dvc", "repro", timeout=1800)
    ensemble = json.loads((repo / "models/ensemble.json").read_text())
    assert ensemble["featurize"]["representation"] == "musicnn"
    assert ensemble["models"]["lstm"]["input_shape"] == [10, 1506]
    report = json.loads((repo / "metrics/report.json").read_text())
    assert set(report) >= {"baseline", "ensemble"}
    clips = sorted(str(p) for p in Path(GTZAN_SAMPLE).glob("*/*.wav"))
    answers = json.loads(completed(repo, "genre", "predict", *clips, "--json").stdout)
    assert [a["file"] for a in answers] == clips
    assert all(len(a["top"]) == 3 for a in answers)
