"""Adding a model takes its registry entry (genre.models.registry) and its dvc.yaml stage, and
nothing else: a fifth architecture registered here (conftest.toy_architecture, a GRU) is
trained by the training code, voted by the ensemble stage with the other four and answered by
`genre predict`, none of them changed. tests/test_dvc_deps.py checks the dvc.yaml side."""

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import (
    KNOWN_DATA,
    STEPS,
    WEIGHTS,
    describe,
    fabricate,
    noise,
    run_predict,
    tone,
    write,
)

from genre import GENRES
from genre.app.predict import file_features, load_model_set, predict_file
from genre.models import modelset, networks, predictions, registry, training
from genre.models.inputs import Inputs
from genre.params import ModelParams, TrainParams
from genre.paths import predictions_path
from genre.stages import ensemble
from genre.stages.train import parse_arch

TOY_MODEL = ModelParams(units=8, layers=1, dropout=0.1)
TOY_TRAIN = TrainParams(epochs=3, batch_size=16, patience=2, val_size=0.25, seed=7)


def test_a_fifth_architecture_needs_only_its_registry_entry(
    toy_architecture, known_project, tmp_path, monkeypatch, capsys
):
    import keras

    name = toy_architecture.name
    assert registry.names() == ("mlp", "rnn", "lstm", "bilstm", name)
    assert name in registry.choices() and parse_arch([name]) == name  # train_<name>'s command

    # training: the registry's hidden layer, sized as the registry counts it
    split, sequences = fabricate(steps=STEPS)  # the known set's inputs: 10 s clips, 20 steps
    inputs = Inputs(x=sequences, rows=split)
    result = training.train(name, inputs, model_params=TOY_MODEL, train_params=TOY_TRAIN)
    assert any(isinstance(layer, keras.layers.GRU) for layer in result.model.layers)
    weights = networks.weight_count(name, dims=44, params=TOY_MODEL, genres=len(GENRES))
    assert weights == result.model.count_params()
    test = split[split["subset"] == "test"].reset_index(drop=True)
    assert list(result.predictions.columns) == predictions.columns(GENRES)
    assert result.predictions["clip_id"].tolist() == test["clip_id"].tolist()

    # a project of the known set plus the new model, saved and described as train_<name> does
    project = tmp_path / "project"
    shutil.copytree(known_project, project)
    models = project / "models"
    networks.save(result.model, modelset.model_path(name, models))
    described = describe(models, name, data=KNOWN_DATA, fingerprints=project / "data")
    assert described["input_shape"] == [STEPS, 44]
    monkeypatch.chdir(project)
    tables = {name: result.predictions}
    test_x = sequences[(split["subset"] == "test").to_numpy()]
    for arch in ("mlp", "rnn", "lstm", "bilstm"):  # the other four, on the same test clips
        x = test_x if registry.get(arch).sequences else test_x.mean(axis=1)
        model = networks.load(modelset.model_path(arch, models))
        probabilities = training.predict(model, x, batch_size=16)
        tables[arch] = predictions.table(test, probabilities, genres=GENRES)
    for arch, table in tables.items():
        predictions_path(arch).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(predictions_path(arch), index=False)

    # the ensemble stage: five members, the new one weighted 1 (params.yaml does not list it)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ensemble"] = {"weights": WEIGHTS}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    ensemble.main()
    assert capsys.readouterr().out.startswith(
        f"ensemble (mlp 2, rnn 0, lstm 1, bilstm 1, {name} 1): 60 test clips"
    )
    saved = modelset.read(modelset.description_path("ensemble", models), model="ensemble")
    share = saved["weights"]
    assert share == {**WEIGHTS, name: 1.0}
    assert saved["models"][name] == {"md5": described["md5"], "input_shape": [STEPS, 44]}
    voted = pd.read_parquet(predictions_path("ensemble"))
    want = sum(share[a] * predictions.probabilities(tables[a]) for a in share) / sum(share.values())
    np.testing.assert_allclose(predictions.probabilities(voted), want, rtol=1e-6)

    # genre predict: the new model in the ensemble, weighted as ensemble.json says, and alone
    song = write(tmp_path / "song.wav", np.concatenate([noise(10), tone(10)]))
    model_set = load_model_set(models)
    assert set(model_set.models) == {"mlp", "lstm", "bilstm", name}  # rnn weighs 0
    answer = predict_file(song, model_set=model_set)
    summary, sequence = file_features(song, settings=model_set.features)
    alone = {
        arch: model.forward(sequence if model.sequences else summary)
        for arch, model in model_set.models.items()
    }
    want = sum(share[a] * alone[a] for a in alone) / sum(share[a] for a in alone)
    np.testing.assert_allclose(answer.window_probabilities, want, rtol=1e-6)
    code, out, err = run_predict(capsys, project, song, model=name)
    assert code == 0, err
    assert out[0]["windows"] == 2
    mean = alone[name].mean(axis=0)
    order = np.argsort(-mean, kind="stable")[:3]
    assert [t["genre"] for t in out[0]["top"]] == [GENRES[i] for i in order]
    assert [t["probability"] for t in out[0]["top"]] == pytest.approx(mean[order], rel=1e-6)
