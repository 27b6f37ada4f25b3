"""`genre predict`, the model set: each --model choice and the weighted ensemble give known
answers (conftest.known_project: hand-weighted models, described as the train and ensemble
stages describe theirs), the models' own description says how to compute their inputs (never
the workspace's params.yaml), and a set that is missing, unloadable or inconsistent is refused
in one line saying what to run."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    BILSTM_P,
    DURATION_S,
    LSTM_P,
    PARAMS_YAML,
    SR,
    STEPS,
    WEIGHTS,
    describe_models,
    distribution,
    noise,
    run_predict,
    softmax_on,
    tone,
    write,
    zcr_detector,
)

from genre import GENRES
from genre.app.predict import file_features, load_model_set, predict_file
from genre.errors import GenreError
from genre.features.handcrafted import FEATURE_NAMES
from genre.files import md5sum
from genre.models import modelset, registry
from genre.params import FeaturizeParams

# --- the answers of each model and of the ensemble ----------------------------------------


def test_model_choice_and_weighted_ensemble(capsys, known_project, tmp_path):
    song = write(tmp_path / "noise.wav", noise(12))  # 12 s: 1 window (2 s dropped)
    got = {}
    for model in ("ensemble", "mlp", "rnn", "lstm", "bilstm"):
        code, out, err = run_predict(capsys, known_project, song, model=model)
        assert code == 0, err
        got[model] = [(t["genre"], t["probability"]) for t in out[0]["top"]]
        assert out[0]["windows"] == 1
    assert got["mlp"][0][0] == "metal" and got["rnn"][0][0] == "disco"
    assert [g for g, _ in got["lstm"]] == ["rock", "pop", "blues"]  # ties: GENRES order
    assert [p for _, p in got["lstm"]] == pytest.approx([0.7, 0.2, 0.0125], abs=1e-6)
    assert [g for g, _ in got["bilstm"]] == ["jazz", "blues", "classical"]
    # ensemble.json weights mlp 2, rnn 0, lstm 1, bilstm 1: rnn's disco plays no part
    metal = np.eye(len(GENRES))[GENRES.index("metal")]
    want = (2 * metal + distribution(LSTM_P) + distribution(BILSTM_P)) / 4
    order = np.argsort(-want, kind="stable")[:3]
    assert [g for g, _ in got["ensemble"]] == [GENRES[i] for i in order]  # metal, rock, jazz
    assert [p for _, p in got["ensemble"]] == pytest.approx(want[order], abs=1e-5)


def test_each_model_scores_all_windows_of_a_file_in_one_call(known_project, tmp_path):
    """Speed: one call per model per file, whatever the number of windows."""
    model_set = load_model_set(known_project / "models", choice="ensemble")
    models = model_set.models
    assert set(models) == {"mlp", "lstm", "bilstm"}  # zero weight: rnn not even loaded
    calls = []

    def counting(model):
        def forward(x):
            calls.append(x.shape)
            return model.forward(x)

        return replace(model, forward=forward)

    counting = {arch: counting(model) for arch, model in models.items()}
    song = write(tmp_path / "song.wav", noise(7 * DURATION_S))
    result = predict_file(song, model_set=replace(model_set, models=counting))
    assert sorted(calls, key=len) == [(7, 44), (7, STEPS, 44), (7, STEPS, 44)]
    assert result.window_probabilities.shape == (7, len(GENRES))  # per window
    np.testing.assert_allclose(result.window_probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_model_set_api_for_other_code(known_project, tmp_path):
    """What the web page uses: the description, the genres, per-window probabilities."""
    model_set = load_model_set(known_project / "models")
    assert model_set.choice == "ensemble" and model_set.genres == GENRES
    description = model_set.description
    assert description["sample_rate"] == SR and description["duration_s"] == DURATION_S
    assert description["featurize"]["hop_length"] == 512 and description["genres"] == list(GENRES)
    assert description["data"]["source"] == "synthetic"
    assert description["models"]["rnn"]["input_shape"] == [STEPS, len(FEATURE_NAMES)]
    song = write(tmp_path / "song.wav", np.concatenate([noise(20), tone(10)]))
    prediction = predict_file(song, model_set=model_set)
    assert prediction.windows == 3 and prediction.window_probabilities.shape == (3, len(GENRES))
    # weights mlp 2, lstm 1, bilstm 1 (rnn 0): noise, noise, then a tone (classical for the mlp)
    others = distribution(LSTM_P) + distribution(BILSTM_P)
    for window, genre in enumerate(["metal", "metal", "classical"]):
        want = (2 * np.eye(len(GENRES))[GENRES.index(genre)] + others) / 4
        np.testing.assert_allclose(prediction.window_probabilities[window], want, atol=1e-4)
    np.testing.assert_allclose(
        prediction.probabilities, prediction.window_probabilities.mean(axis=0)
    )
    assert prediction.top(1)[0][0] == "metal"
    lstm = load_model_set(known_project / "models", choice="lstm")
    assert lstm.description["model"] == "lstm" and set(lstm.models) == {"lstm"}


def test_a_model_set_of_other_genres_predicts_them(capsys, tmp_path):
    """Models trained on a folder of 3 made-up genres (the description lists them): predict
    names them, with probabilities over those 3; a description of another genre count is
    refused."""
    import keras

    three = ("chiptune", "drone", "polka")
    models = tmp_path / "models"
    models.mkdir()
    inputs = keras.Input((len(FEATURE_NAMES),))
    weights = zcr_detector(high=0, low=1, genres=len(three))  # noise: chiptune, tone: drone
    keras.Model(inputs, softmax_on(inputs, **weights)).save(models / "mlp.keras")
    describe_models(models, archs=["mlp"], genres=three)
    songs = [write(tmp_path / "noise.wav", noise(5)), write(tmp_path / "tone.wav", tone(5))]
    code, out, err = run_predict(capsys, tmp_path, *songs, model="mlp")
    assert code == 0, err
    assert [r["top"][0]["genre"] for r in out] == ["chiptune", "drone"]
    for result in out:
        assert sorted(t["genre"] for t in result["top"]) == list(three)
        assert sum(t["probability"] for t in result["top"]) == pytest.approx(1.0, abs=1e-5)
    assert load_model_set(models, choice="mlp").genres == three
    code, text, _ = run_predict(capsys, tmp_path, songs[1], model="mlp", json_out=False)
    assert text.splitlines() == [f"{songs[1]}: drone 100.0%, polka 0.0%, chiptune 0.0% (1 window)"]
    describe_models(models, archs=["mlp"])  # GTZAN's 10 genres for a model of 3 outputs
    code, _, err = run_predict(capsys, tmp_path, songs[0], model="mlp")
    assert code == 1 and "predicts 3 classes, but" in err[0] and "lists 10 genres" in err[0]


# --- the models say what they need; predict never reads params.yaml -------------------------


def described_copy(project: Path, folder: Path) -> Path:
    """A copy of the project's described models/ in folder/models, to edit."""
    shutil.copytree(project / "models", folder / "models")
    return folder / "models"


def test_predict_uses_the_models_settings_not_the_workspace_params(
    capsys, known_project, tmp_path, monkeypatch
):
    """Edited, then broken, params.yaml in the working folder: the same answers, with features
    computed at the settings the models were trained with (their description)."""
    song = write(tmp_path / "song.wav", np.concatenate([noise(10), tone(10)]), sr=44100)
    monkeypatch.chdir(known_project)
    code, before, err = run_predict(capsys, known_project, song, model="ensemble")
    assert code == 0, err
    seen = []

    def recording(file, *, settings, **bounds):
        seen.append((settings.sample_rate, settings.duration_s, settings.featurize))
        return file_features(file, settings=settings, **bounds)

    monkeypatch.setattr("genre.app.predict.file_features", recording)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    described_copy(known_project, workspace)
    monkeypatch.chdir(workspace)
    edited = PARAMS_YAML.replace("hop_length: 512", "hop_length: 256")
    edited = edited.replace(f"duration_s: {DURATION_S}", "duration_s: 5").replace(
        f"sample_rate: {SR}", "sample_rate: 16000"
    )
    for params_yaml in (edited, "featurize: [not, a, mapping\n"):
        (workspace / "params.yaml").write_text(params_yaml)
        code, after, err = run_predict(capsys, workspace, song, model="ensemble")
        assert code == 0, err
        assert after == before
    assert seen == [(SR, DURATION_S, FeaturizeParams())] * 2


# --- a missing or inconsistent model set: one line saying what to run -----------------------


def refusal(capsys, folder: Path, model: str = "ensemble") -> str:
    """The one error line `genre predict --model MODEL` gives with folder/models."""
    song = write(folder / "song.wav", noise(5))
    code, out, err = run_predict(capsys, folder, song, model=model)
    assert code == 1 and out is None
    (line,) = err
    assert line.startswith("error: ") and "dvc repro" in line
    return line


def edit_description(path: Path, change) -> None:
    description = json.loads(path.read_text())
    change(description)
    path.write_text(json.dumps(description))


@pytest.mark.parametrize("model", ["ensemble", "lstm"])
def test_no_trained_models_yet(capsys, tmp_path, model):
    (tmp_path / "models").mkdir()
    line = refusal(capsys, tmp_path, model)
    assert line.startswith("error: no trained") and "run `dvc repro` first" in line


def test_model_that_does_not_load(capsys, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mlp.keras").write_bytes(b"PK\x03\x04 not really a keras zip")
    describe_models(models, archs=["mlp"])  # the description matches the file (its md5)
    song = write(tmp_path / "song.wav", noise(5))
    code, _, err = run_predict(capsys, tmp_path, song, model="mlp")
    assert code == 1
    (line,) = err
    assert line.startswith(f"error: {models / 'mlp.keras'} is not a loadable Keras model")


def test_refuses_a_model_its_description_does_not_describe(capsys, known_project, tmp_path):
    models = described_copy(known_project, tmp_path)
    shutil.copy(models / "lstm.keras", models / "rnn.keras")  # replaced: md5 differs
    line = refusal(capsys, tmp_path, "rnn")
    assert f"{models / 'rnn.keras'} is not the model {models / 'rnn.json'} describes" in line


def test_refuses_a_description_whose_shape_disagrees_with_the_saved_model(
    capsys, known_project, tmp_path
):
    """rnn.json edited to say 5 s clips (10 steps of 0.5 s); rnn.keras takes 20 steps."""
    models = described_copy(known_project, tmp_path)

    def five_seconds(description):
        description["duration_s"] = 5.0
        description["input_shape"] = [10, len(FEATURE_NAMES)]

    edit_description(models / "rnn.json", five_seconds)
    line = refusal(capsys, tmp_path, "rnn")
    assert f"{models / 'rnn.keras'} takes inputs shaped (None, 20, 44)" in line
    assert f"but {models / 'rnn.json'} describes (None, 10, 44)" in line
    edit_description(models / "rnn.json", lambda d: d.update(input_shape=[20, 44]))
    line = refusal(capsys, tmp_path, "rnn")  # its own settings give 10 steps, it says 20
    assert "says rnn takes inputs shaped (20, 44), but its settings" in line and "(10, 44)" in line


@pytest.mark.parametrize(
    ("arch", "section", "key", "value", "was"),
    [("lstm", "featurize", "hop_length", 256, 512), ("bilstm", "data", "index_md5", "0", None)],
)
def test_refuses_models_that_disagree_with_each_other(
    capsys, known_project, tmp_path, arch, section, key, value, was
):
    """lstm.json says hop 256, the set (ensemble.json) 512; bilstm.json was trained on other
    data: the models come from different runs."""
    models = described_copy(known_project, tmp_path)
    was = was or json.loads((models / "ensemble.json").read_text())[section][key]
    edit_description(models / f"{arch}.json", lambda d: d[section].update({key: value}))
    line = refusal(capsys, tmp_path)
    assert line == (
        f"error: {models / f'{arch}.json'} disagrees with {models / 'ensemble.json'} on "
        f"{section}.{key} ({value} vs {was}): the models come from different runs; "
        f"{modelset.REBUILD}"
    )
    with pytest.raises(GenreError, match=f"{arch}.json disagrees with .*mlp.json on {section}"):
        descriptions = {a: modelset.read(models / f"{a}.json", model=a) for a in registry.names()}
        modelset.describe_ensemble(descriptions, weights=WEIGHTS, models_dir=models)


def test_refuses_a_model_retrained_after_the_ensemble(capsys, known_project, tmp_path):
    """mlp.keras and mlp.json retrained together (on other data) after ensemble.json."""
    models = described_copy(known_project, tmp_path)
    (models / "mlp.keras").write_bytes((models / "rnn.keras").read_bytes())
    edit_description(models / "mlp.json", lambda d: d.update(md5=md5sum(models / "mlp.keras")))
    line = refusal(capsys, tmp_path)
    assert f"{models / 'mlp.json'} disagrees with {models / 'ensemble.json'} on md5" in line


@pytest.mark.parametrize(
    ("what", "change", "expected"),
    [
        ("old ensemble.json", "weights only", "is not a model description of format 1"),
        ("no lstm.json", "missing", "lstm.json is missing: the model has no description"),
        ("unreadable", "garbage", "ensemble.json is unreadable"),
        ("other features", "features", "the models take features this code does not compute"),
    ],
)
def test_refuses_a_model_set_without_a_usable_description(
    capsys, known_project, tmp_path, what, change, expected
):
    models = described_copy(known_project, tmp_path)
    if change == "weights only":  # as written before models described themselves
        (models / "ensemble.json").write_text(json.dumps({"weights": WEIGHTS}))
    elif change == "missing":
        (models / "lstm.json").unlink()
    elif change == "garbage":
        (models / "ensemble.json").write_text("{not json")
    else:
        edit_description(models / "ensemble.json", lambda d: d["features"].reverse())
    assert expected in refusal(capsys, tmp_path), what
