"""dvc.yaml declares the trained models as DVC artifacts, so `dvc artifacts get <repo> <name>`
and model-registry tools find them (the download itself is run in tests/test_experiments.py)."""

from pathlib import Path

import pytest
from helpers import ROOT

from genre.models import registry


@pytest.fixture(scope="module")
def declared():
    """(artifacts as DVC reads them from dvc.yaml, the paths the stages write)."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        artifacts = repo.artifacts.read()["dvc.yaml"]
        outs = {str(out.def_path) for stage in repo.index.stages for out in stage.outs}
    return artifacts, outs


MODEL_FILES = (".keras", ".joblib")  # models/<arch>.json beside them only describe them


def test_every_model_is_an_artifact(declared):
    """Every trained model file a stage writes, and the ensemble's weights, named as the model."""
    artifacts, outs = declared
    models = {p for p in outs if p.startswith("models/") and p.endswith(MODEL_FILES)}
    assert {f"models/{arch}.keras" for arch in registry.names()} <= models
    expected = {Path(p).stem: p for p in models} | {"ensemble": "models/ensemble.json"}
    assert {name: a.path for name, a in artifacts.items()} == expected


def test_artifacts_are_described_models_made_by_a_stage(declared):
    from dvc.repo.artifacts import check_name_format

    artifacts, outs = declared
    for name, artifact in artifacts.items():
        check_name_format(name)  # the model registry's naming rules (GTO)
        assert artifact.type == "model", name
        assert artifact.desc and name in artifact.labels, name
        assert artifact.path in outs, f"{name}: {artifact.path} is no stage's output"
