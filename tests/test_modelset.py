"""Self-describing models, end to end: the train and ensemble stages of a real tiny `dvc repro`
write what using the models requires, byte-identical on a rerun; `genre predict` answers the
same after params.yaml is edited, and refuses a set whose models come from different runs."""

import json
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
from helpers import genre_command
from tiny_project import completed, make_project, set_params  # tests/ is on sys.path

from genre import GENRES
from genre.features.handcrafted import FEATURE_NAMES
from genre.files import md5sum
from genre.models import registry
from genre.params import FeaturizeParams

TINY = {
    "data": {"clips_per_genre": 5, "duration_s": 3},  # 50 tracks: 10 test, 40 train
    "augment": {"factor": 2},
    "model": {"units": 8, "layers": 1},
    "train": {"epochs": 1, "batch_size": 16, "patience": 1},
}


def run(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return completed(repo, *args, check=check, timeout=900)


@pytest.mark.slow
def test_pipeline_models_describe_themselves_and_predict_follows_them(tmp_path):
    command = str(genre_command())
    repo = make_project(tmp_path / "repo", tiny=TINY)
    run(repo, "dvc", "repro")
    models = repo / "models"

    ensemble = json.loads((models / "ensemble.json").read_text())
    assert ensemble["genres"] == list(GENRES)
    assert (ensemble["sample_rate"], ensemble["duration_s"]) == (22050, 3)
    assert ensemble["featurize"] == asdict(FeaturizeParams())
    assert ensemble["features"] == list(FEATURE_NAMES)
    assert ensemble["data"] == {
        "source": "synthetic",
        "local_path": None,
        "index_md5": md5sum(repo / "data/raw/index.csv"),
        "split_md5": md5sum(repo / "data/split/split.csv"),
    }
    for arch in registry.names():
        own = json.loads((models / f"{arch}.json").read_text())
        assert own["md5"] == md5sum(models / f"{arch}.keras")
        assert ensemble["models"][arch] == {"md5": own["md5"], "input_shape": own["input_shape"]}
        assert own["input_shape"] == ([44] if arch == "mlp" else [6, 44])  # 3 s of 0.5 s steps
        assert {k: own[k] for k in ensemble if k not in ("weights", "models")} == {
            k: ensemble[k] for k in own if k not in ("model", "md5", "input_shape")
        }

    # no times or commit hashes: a forced rerun writes the same bytes
    written = {name: (models / name).read_bytes() for name in ("mlp.json", "ensemble.json")}
    run(repo, "dvc", "repro", "-f", "-s", "train_mlp")
    run(repo, "dvc", "repro", "-f", "-s", "ensemble")
    assert {name: (models / name).read_bytes() for name in written} == written

    clip = repo / "data/raw/metal/metal.00000.wav"
    before = run(repo, command, "predict", str(clip)).stdout
    assert before.startswith(f"{clip}: ") and before.rstrip().endswith("(1 window)")
    set_params(repo, featurize={"hop_length": 256}, data={"duration_s": 5, "sample_rate": 16000})
    assert run(repo, command, "predict", str(clip)).stdout == before

    # featurize.hop_length changed and only the mlp retrained: the set no longer agrees
    set_params(repo, data=TINY["data"] | {"sample_rate": 22050})
    run(repo, "dvc", "repro", "train_mlp")  # featurize, split, train_mlp
    assert json.loads((models / "mlp.json").read_text())["featurize"]["hop_length"] == 256
    refused = run(repo, command, "predict", str(clip), check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"error: {Path('models/mlp.json')} disagrees with {Path('models/ensemble.json')} on "
        "featurize.hop_length (256 vs 512): the models come from different runs; run "
        "`dvc repro` (or `dvc exp apply` the experiment again) for a consistent model set"
    ]
    assert run(repo, command, "predict", str(clip), "--model", "rnn").returncode == 0
