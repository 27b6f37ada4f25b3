"""`genre predict`: audio in any format/rate/channels -> top 3 genres, with known answers from
tiny hand-weighted models (a zero-crossing-rate detector: noise -> metal, a low tone ->
classical) that honour the models/<arch>.keras contract, described (models/<arch>.json,
models/ensemble.json) as the train and ensemble stages describe theirs."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from threadpoolctl import threadpool_limits

from genre import GENRES
from genre.app import cli
from genre.app.predict import (
    MIN_SECONDS,
    Prediction,
    file_features,
    format_line,
    load_model_set,
    predict_file,
)
from genre.audio import write_wav
from genre.errors import GenreError
from genre.features.extraction import song_features, split_windows
from genre.features.handcrafted import FEATURE_NAMES, clip_features, estimate_tuning
from genre.features.layout import FeatureSettings
from genre.files import md5sum, write_json
from genre.models import modelset, registry
from genre.params import DataParams, FeaturizeParams

SR = 22050
DURATION_S = 10.0  # training clip length in the tmp project: 20 steps of 0.5 s
STEPS = 20
ZCR = FEATURE_NAMES.index("zcr_mean")
PARAMS_YAML = f"""\
data:
  duration_s: {DURATION_S}
  sample_rate: {SR}
featurize:
  n_fft: 2048
  hop_length: 512
  n_mfcc: 13
  window_s: 0.5
"""
# constant models: their probabilities whatever the input
LSTM_P = {"rock": 0.7, "pop": 0.2}
BILSTM_P = {"jazz": 0.6, "blues": 0.3}
WEIGHTS = {"mlp": 2.0, "rnn": 0.0, "lstm": 1.0, "bilstm": 1.0}
GENRE_BIN = Path(sys.executable).parent / "genre"


def distribution(top: dict[str, float]) -> np.ndarray:
    """`top` probabilities, the rest shared evenly by the other genres."""
    rest = (1 - sum(top.values())) / (len(GENRES) - len(top))
    return np.array([top.get(g, rest) for g in GENRES])


def noise(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(0.3 * rng.standard_normal(int(seconds * sr)), -1, 1).astype(np.float32)


def tone(seconds: float, sr: int = SR, hz: float = 220.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def chord(seconds: float, *, detune: float = 0.3, seed: int = 0) -> np.ndarray:
    """An A-major chord a third of a semitone sharp, plus a little noise: music-like audio
    whose chroma tuning estimate is far from 0."""
    t = np.arange(int(seconds * SR)) / SR
    cents = 2 ** (detune / 12)
    y = sum(np.sin(2 * np.pi * 440 * cents * r * t) for r in (1, 2 ** (4 / 12), 2 ** (7 / 12)))
    return (0.2 * y + 0.01 * noise(seconds, seed=seed)).astype(np.float32)


def build_models(folder: Path) -> None:
    """mlp: ZCR detector on the summary (noise -> metal, tone -> classical); rnn: the same on
    the sequence (-> disco / blues; weight 0 in the ensemble); lstm, bilstm: constant."""
    import keras

    def dense(x, *, detect: tuple[str, str] | None = None, constant=None):
        layer = keras.layers.Dense(len(GENRES), activation="softmax")
        out = layer(x)
        kernel = np.zeros((len(FEATURE_NAMES), len(GENRES)), np.float32)
        bias = np.zeros(len(GENRES), np.float32)
        if detect:  # logit of `high` = 1000 (zcr - 0.05), of `low` its opposite
            high, low = GENRES.index(detect[0]), GENRES.index(detect[1])
            kernel[ZCR, high], kernel[ZCR, low] = 1000, -1000
            bias[high], bias[low] = -50, 50
        else:
            bias[:] = np.log(constant)
        layer.set_weights([kernel, bias])
        return out

    def sequence_model(**kwargs):
        inputs = keras.Input((STEPS, len(FEATURE_NAMES)))
        return keras.Model(inputs, dense(keras.layers.GlobalAveragePooling1D()(inputs), **kwargs))

    folder.mkdir(parents=True, exist_ok=True)
    inputs = keras.Input((len(FEATURE_NAMES),))
    keras.Model(inputs, dense(inputs, detect=("metal", "classical"))).save(folder / "mlp.keras")
    sequence_model(detect=("disco", "blues")).save(folder / "rnn.keras")
    sequence_model(constant=distribution(LSTM_P)).save(folder / "lstm.keras")
    sequence_model(constant=distribution(BILSTM_P)).save(folder / "bilstm.keras")
    describe_models(folder)


def describe_models(
    folder: Path,
    archs=None,
    *,
    data: DataParams = DataParams(duration_s=DURATION_S, sample_rate=SR),  # noqa: B008
    featurize: FeaturizeParams = FeaturizeParams(),  # noqa: B008
    genres: tuple[str, ...] = GENRES,
) -> None:
    """Write models/<arch>.json for `archs` and models/ensemble.json (from every model's
    description), as the train and ensemble stages do."""
    fingerprints = folder.parent / "data"  # stand-ins for data/raw/index.csv, split.csv
    fingerprints.mkdir(exist_ok=True)
    (fingerprints / "index.csv").write_text("track_id,genre,path,seconds,sample_rate,md5,note\n")
    (fingerprints / "split.csv").write_text("clip_id,track_id,genre,transform,subset\n")
    archs = registry.names() if archs is None else archs
    for arch in archs:
        description = modelset.describe_model(
            arch,
            model_file=folder / f"{arch}.keras",
            shape=(len(FEATURE_NAMES),) if arch == "mlp" else (STEPS, len(FEATURE_NAMES)),
            genres=genres,
            data=data,
            featurize=featurize,
            index_path=fingerprints / "index.csv",
            split_path=fingerprints / "split.csv",
        )
        write_json(description, modelset.description_path(arch, folder))
    if set(archs) != set(registry.names()):
        return
    descriptions = {
        arch: modelset.read(modelset.description_path(arch, folder), model=arch)
        for arch in registry.names()
    }
    ensemble = modelset.describe_ensemble(descriptions, weights=WEIGHTS, models_dir=folder)
    write_json(ensemble, modelset.description_path("ensemble", folder))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder with params.yaml and trained-looking, described models/."""
    root = tmp_path_factory.mktemp("project")
    (root / "params.yaml").write_text(PARAMS_YAML)
    build_models(root / "models")
    return root


def run_predict(capsys, project: Path, *files, model: str = "mlp", json_out: bool = True):
    """`genre predict FILE... --model MODEL [--json]` in-process, with the project's models/:
    (exit code, parsed JSON (or stdout text), stderr lines)."""
    argv = ["predict", *map(str, files), "--model", model, "--models-dir", str(project / "models")]
    try:
        cli.main(argv + (["--json"] if json_out else []))
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    if json_out:
        out = json.loads(out) if out.strip() else None
    return code, out, err.strip().splitlines()


# --- windows --------------------------------------------------------------------------------


def test_windows_keep_a_final_partial_window_of_at_least_half():
    size = 10
    assert [len(w) for w in split_windows(np.zeros(100), size=size)] == [10] * 10
    assert [len(w) for w in split_windows(np.zeros(95), size=size)] == [10] * 9 + [5]
    assert [len(w) for w in split_windows(np.zeros(94), size=size)] == [10] * 9
    assert [len(w) for w in split_windows(np.zeros(7), size=size)] == [7]  # short song
    samples = np.arange(25)
    np.testing.assert_array_equal(np.concatenate(split_windows(samples, size=10)), samples)


def test_song_features_are_clip_features_of_each_window():
    """One code path: window k's features are clip_features of samples [k*size, (k+1)*size),
    with one tuning estimated on the song padded to whole windows; single-threaded BLAS, as in
    featurize, so they are bitwise equal."""
    params = FeaturizeParams()
    song = np.concatenate([noise(10), tone(10), chord(6)])  # 6 s: a partial window, kept
    summary, sequence = song_features(song, settings=FeatureSettings(SR, DURATION_S, params))
    assert summary.shape == (3, 44) and sequence.shape == (3, STEPS, 44)
    size = int(DURATION_S * SR)
    padded = np.concatenate([song, np.zeros(3 * size - len(song), np.float32)])
    with threadpool_limits(limits=1):
        tuning = estimate_tuning(padded, sample_rate=SR, params=params)
        clips = [
            clip_features(
                song[k * size : (k + 1) * size],
                sample_rate=SR,
                duration_s=DURATION_S,
                params=params,
                tuning=tuning,
            )
            for k in range(3)
        ]
    np.testing.assert_array_equal(summary, [c.summary for c in clips])
    np.testing.assert_array_equal(sequence, [c.sequence for c in clips])
    assert summary[0, ZCR] > 0.3 > 0.05 > summary[1, ZCR]  # noise vs 220 Hz tone


def featurize_stage(root: Path, tracks: dict[str, Path], *, duration_s: float):
    """Run the real featurize stage on a project holding `tracks` (track id -> mono 16-bit
    WAV at SR, copied into data/raw); return {track id: (summary [44], sequence)}."""
    from genre.features.augment import COLUMNS

    root.mkdir(exist_ok=True)
    (root / "params.yaml").write_text(f"data:\n  duration_s: {duration_s}\n  sample_rate: {SR}\n")
    index, manifest = [], []
    for track_id, source in tracks.items():
        genre = track_id.split(".")[0]
        path = root / "data" / "raw" / genre / f"{track_id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_bytes())
        index.append({"track_id": track_id, "genre": genre, "path": f"{genre}/{path.name}"})
        manifest.append(
            {
                "clip_id": f"{track_id}.orig",
                "track_id": track_id,
                "genre": genre,
                "transform": "original",
                "seed": 0,
            }
        )
    pd.DataFrame(index).to_csv(root / "data" / "raw" / "index.csv", index=False)
    (root / "data" / "augmented").mkdir(parents=True)
    pd.DataFrame(manifest, columns=COLUMNS).to_csv(
        root / "data" / "augmented" / "manifest.csv", index=False
    )
    result = subprocess.run(
        [sys.executable, "-m", "genre.stages.featurize"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "GENRE_N_JOBS": "1"},  # a few tracks: no worker processes to start
    )
    assert result.returncode == 0, result.stderr
    summary = pd.read_parquet(root / "data" / "features" / "summary.parquet")
    sequences = np.load(root / "data" / "features" / "sequences.npy")
    return {
        row.track_id: (summary.loc[i, list(FEATURE_NAMES)].to_numpy(np.float32), sequences[i])
        for i, row in summary.iterrows()
    }


def assert_predict_features_equal_featurize(root: Path, tracks: dict[str, Path], duration_s):
    staged = featurize_stage(root, tracks, duration_s=duration_s)
    data = DataParams(duration_s=duration_s, sample_rate=SR)
    for track_id, path in tracks.items():
        summary, sequence = file_features(
            path, settings=FeatureSettings(data.sample_rate, data.duration_s, FeaturizeParams())
        )
        assert summary.shape == (1, 44)  # one window: <= 1.5 training clips
        np.testing.assert_array_equal(summary[0], staged[track_id][0], err_msg=track_id)
        np.testing.assert_array_equal(sequence[0], staged[track_id][1], err_msg=track_id)


def test_features_equal_the_featurize_stage_bit_for_bit(tmp_path):
    """12 s (cropped to 10 by both), exactly 10 s, and 7 s (zero-padded by both)."""
    tracks = {}
    for i, seconds in enumerate((12.0, 10.0, 7.0)):
        tracks[f"jazz.{i:05d}"] = tmp_path / f"song{i}.wav"
        write_wav(tracks[f"jazz.{i:05d}"], chord(seconds, seed=i), sample_rate=SR)
    tuning = estimate_tuning(chord(10.0), sample_rate=SR, params=FeaturizeParams())
    assert abs(tuning) > 0.1  # the shared tuning matters: chroma differs without it
    assert_predict_features_equal_featurize(tmp_path / "project", tracks, duration_s=10.0)


def test_features_equal_the_featurize_stage_on_real_gtzan_clips(tmp_path, gtzan_sample):
    tracks = {
        f"{genre}.00000": gtzan_sample / genre / f"{genre}.00000.wav"
        for genre in ("classical", "metal")
    }
    assert_predict_features_equal_featurize(tmp_path, tracks, duration_s=30.0)


# --- formats, rates, channels ---------------------------------------------------------------

FORMATS = {  # extension -> (libsndfile format, subtype)
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "au": ("AU", "PCM_16"),
}


def write(path: Path, samples: np.ndarray, *, sr: int, channels: int = 1) -> Path:
    fmt, subtype = FORMATS[path.suffix[1:]]
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    data = np.stack([samples, 0.5 * samples], axis=1) if channels == 2 else samples
    sf.write(path, data, sr, format=fmt, subtype=subtype)
    return path


@pytest.mark.parametrize(
    ("ext", "sr", "channels", "signal", "genre"),
    [
        ("wav", 22050, 1, "noise", "metal"),
        ("wav", 44100, 2, "tone", "classical"),
        ("flac", 44100, 2, "noise", "metal"),
        ("flac", 8000, 1, "tone", "classical"),
        ("ogg", 8000, 1, "noise", "metal"),
        ("ogg", 22050, 2, "tone", "classical"),
        ("mp3", 44100, 2, "noise", "metal"),
        ("mp3", 22050, 1, "tone", "classical"),
        ("au", 8000, 2, "noise", "metal"),
        ("au", 44100, 1, "tone", "classical"),
    ],
)
def test_any_format_rate_and_channel_count(
    capsys, project, tmp_path, ext, sr, channels, signal, genre
):
    samples = (noise if signal == "noise" else tone)(6.0, sr)
    path = write(tmp_path / f"song.{ext}", samples, sr=sr, channels=channels)
    code, out, err = run_predict(capsys, project, path)
    assert code == 0, err
    (result,) = out
    assert result["file"] == str(path) and result["windows"] == 1
    assert result["top"][0]["genre"] == genre
    assert result["top"][0]["probability"] > 0.99


def test_long_song_is_scored_over_windows_and_averaged(capsys, project, tmp_path):
    """100 s = 10 windows of 10 s: 6 of noise (metal), 4 of tone (classical)."""
    song = write(tmp_path / "long.flac", np.concatenate([noise(60), tone(40)]), sr=SR)
    code, out, _ = run_predict(capsys, project, song)
    assert code == 0
    (result,) = out
    assert result["windows"] == 10
    top = {t["genre"]: t["probability"] for t in result["top"]}
    assert list(top)[:2] == ["metal", "classical"]
    assert top["metal"] == pytest.approx(0.6, abs=1e-4)
    assert top["classical"] == pytest.approx(0.4, abs=1e-4)


def test_song_shorter_than_a_training_clip_is_one_padded_window(capsys, project, tmp_path):
    song = write(tmp_path / "short.wav", tone(MIN_SECONDS + 1), sr=SR)
    code, out, _ = run_predict(capsys, project, song)
    assert code == 0 and out[0]["windows"] == 1 and out[0]["top"][0]["genre"] == "classical"


# --- models ---------------------------------------------------------------------------------


def test_model_choice_and_weighted_ensemble(capsys, project, tmp_path):
    song = write(tmp_path / "noise.wav", noise(12), sr=SR)  # 12 s: 1 window (2 s dropped)
    got = {}
    for model in ("ensemble", "mlp", "rnn", "lstm", "bilstm"):
        code, out, err = run_predict(capsys, project, song, model=model)
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


def test_each_model_scores_all_windows_of_a_file_in_one_call(project, tmp_path):
    """Speed: one call per model per file, whatever the number of windows."""
    model_set = load_model_set(project / "models", choice="ensemble")
    models = model_set.models
    assert set(models) == {"mlp", "lstm", "bilstm"}  # zero weight: rnn not even loaded
    calls = []

    def counting(model):
        def forward(x):
            calls.append(x.shape)
            return model.forward(x)

        return replace(model, forward=forward)

    counting = {arch: counting(model) for arch, model in models.items()}
    song = write(tmp_path / "song.wav", noise(7 * DURATION_S), sr=SR)
    result = predict_file(song, model_set=replace(model_set, models=counting))
    assert sorted(calls, key=len) == [(7, 44), (7, STEPS, 44), (7, STEPS, 44)]
    assert result.window_probabilities.shape == (7, len(GENRES))  # per window
    np.testing.assert_allclose(result.window_probabilities.sum(axis=1), 1.0, rtol=1e-6)


# --- output ---------------------------------------------------------------------------------


def test_json_output_shape(capsys, project, tmp_path):
    a = write(tmp_path / "a.wav", noise(5), sr=SR)
    b = write(tmp_path / "b.ogg", tone(25), sr=SR)
    code, out, _ = run_predict(capsys, project, a, b, model="ensemble")
    assert code == 0
    assert [r["file"] for r in out] == [str(a), str(b)]
    assert [r["windows"] for r in out] == [1, 3]  # 25 s: 10 + 10 + 5 (half a window, kept)
    for result in out:
        assert set(result) == {"file", "top", "windows"}
        assert len(result["top"]) == 3
        assert all(set(t) == {"genre", "probability"} for t in result["top"])
        assert all(t["genre"] in GENRES for t in result["top"])
        probabilities = [t["probability"] for t in result["top"]]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1


def test_text_output_is_one_line_per_file(capsys, project, tmp_path):
    song = write(tmp_path / "song.wav", tone(30), sr=SR)
    code, out, _ = run_predict(capsys, project, song, json_out=False)
    assert code == 0
    assert out.splitlines() == [f"{song}: classical 100.0%, blues 0.0%, country 0.0% (3 windows)"]
    line = Prediction(str(song), distribution({"rock": 0.621, "metal": 0.21})[None], GENRES)
    assert format_line(line) == f"{song}: rock 62.1%, metal 21.0%, blues 2.1% (1 window)"


# --- bad input: one line each, the other files still predicted ------------------------------


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what its error line must say)."""
    folder.mkdir(exist_ok=True)
    text = folder / "notes.wav"
    text.write_text("not audio at all\n" * 50)
    good = write(folder / "good.flac", noise(4), sr=SR)
    truncated = folder / "truncated.flac"
    truncated.write_bytes(good.read_bytes()[:200])
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    return {
        "missing": (folder / "missing.mp3", "file not found"),
        "not audio": (text, "not readable audio"),
        "unreadable": (truncated, "not readable audio"),
        "empty": (empty, "not readable audio"),
        "too short": (
            write(folder / "short.wav", tone(2.0), sr=SR),
            f"only 2.0 s of audio; at least {MIN_SECONDS:g} s are needed",
        ),
        "silent": (write(folder / "silent.ogg", np.zeros(5 * SR), sr=SR), "is silent"),
    }


def test_bad_files_get_one_error_line_each_and_the_rest_are_predicted(capsys, project, tmp_path):
    bad = bad_files(tmp_path)
    good = tmp_path / "good.flac"
    files = [good, *(path for path, _ in bad.values()), good]
    code, out, err = run_predict(capsys, project, *files)
    assert code == 1
    assert [r["file"] for r in out] == list(map(str, files))  # every file answered, in order
    assert [("top" in r, "error" in r) for r in out] == [(True, False)] + [(False, True)] * len(
        bad
    ) + [(True, False)]
    assert [r["error"] for r in out[1:-1]] == [line.removeprefix("error: ") for line in err]
    assert len(err) == len(bad)
    for line, (path, reason) in zip(err, bad.values(), strict=True):
        assert line.startswith(f"error: {path}: ") and reason in line


@pytest.mark.parametrize("model", ["ensemble", "lstm"])
def test_no_trained_models_yet(capsys, tmp_path, model):
    (tmp_path / "models").mkdir()
    song = write(tmp_path / "song.wav", noise(5), sr=SR)
    code, out, err = run_predict(capsys, tmp_path, song, model=model)
    assert code == 1 and out is None
    (line,) = err
    assert line.startswith("error: no trained") and "run `dvc repro` first" in line


def test_model_that_does_not_load(capsys, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mlp.keras").write_bytes(b"PK\x03\x04 not really a keras zip")
    describe_models(models, archs=["mlp"])  # the description matches the file (its md5)
    song = write(tmp_path / "song.wav", noise(5), sr=SR)
    code, _, err = run_predict(capsys, tmp_path, song, model="mlp")
    assert code == 1
    (line,) = err
    assert line.startswith(f"error: {models / 'mlp.keras'} is not a loadable Keras model")


def test_a_model_set_of_other_genres_predicts_them(capsys, tmp_path):
    """Models trained on a folder of 3 made-up genres (the description lists them): predict
    names them, with probabilities over those 3; a description of another genre count is
    refused."""
    import keras

    three = ("chiptune", "drone", "polka")
    models = tmp_path / "models"
    models.mkdir()
    inputs = keras.Input((len(FEATURE_NAMES),))
    layer = keras.layers.Dense(len(three), activation="softmax")
    outputs = layer(inputs)
    kernel, bias = np.zeros((len(FEATURE_NAMES), 3), np.float32), np.zeros(3, np.float32)
    kernel[ZCR, 0], kernel[ZCR, 1], bias[0], bias[1] = 1000, -1000, -50, 50  # noise: chiptune
    layer.set_weights([kernel, bias])
    keras.Model(inputs, outputs).save(models / "mlp.keras")
    describe_models(models, archs=["mlp"], genres=three)
    songs = [
        write(tmp_path / "noise.wav", noise(5), sr=SR),
        write(tmp_path / "tone.wav", tone(5), sr=SR),
    ]
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
    capsys, project, tmp_path, monkeypatch
):
    """Edited, then broken, params.yaml in the working folder: the same answers, with features
    computed at the settings the models were trained with (their description)."""
    song = write(tmp_path / "song.wav", np.concatenate([noise(10), tone(10)]), sr=44100)
    monkeypatch.chdir(project)
    code, before, err = run_predict(capsys, project, song, model="ensemble")
    assert code == 0, err
    seen = []

    def recording(file, *, settings, **bounds):
        seen.append((settings.sample_rate, settings.duration_s, settings.featurize))
        return file_features(file, settings=settings, **bounds)

    monkeypatch.setattr("genre.app.predict.file_features", recording)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    described_copy(project, workspace)
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


def test_model_set_api_for_other_code(project, tmp_path):
    """What the web page uses: the description, the genres, per-window probabilities."""
    model_set = load_model_set(project / "models")
    assert model_set.choice == "ensemble" and model_set.genres == GENRES
    description = model_set.description
    assert description["sample_rate"] == SR and description["duration_s"] == DURATION_S
    assert description["featurize"]["hop_length"] == 512 and description["genres"] == list(GENRES)
    assert description["data"]["source"] == "synthetic"
    assert description["models"]["rnn"]["input_shape"] == [STEPS, len(FEATURE_NAMES)]
    song = write(tmp_path / "song.wav", np.concatenate([noise(20), tone(10)]), sr=SR)
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
    lstm = load_model_set(project / "models", choice="lstm")
    assert lstm.description["model"] == "lstm" and set(lstm.models) == {"lstm"}


def refusal(capsys, folder: Path, model: str = "ensemble") -> str:
    """The one error line `genre predict --model MODEL` gives with folder/models."""
    song = write(folder / "song.wav", noise(5), sr=SR)
    code, out, err = run_predict(capsys, folder, song, model=model)
    assert code == 1 and out is None
    (line,) = err
    assert line.startswith("error: ") and "dvc repro" in line
    return line


def edit_description(path: Path, change) -> None:
    description = json.loads(path.read_text())
    change(description)
    path.write_text(json.dumps(description))


def test_refuses_a_model_its_description_does_not_describe(capsys, project, tmp_path):
    models = described_copy(project, tmp_path)
    shutil.copy(models / "lstm.keras", models / "rnn.keras")  # replaced: md5 differs
    line = refusal(capsys, tmp_path, "rnn")
    assert f"{models / 'rnn.keras'} is not the model {models / 'rnn.json'} describes" in line


def test_refuses_a_description_whose_shape_disagrees_with_the_saved_model(
    capsys, project, tmp_path
):
    """rnn.json edited to say 5 s clips (10 steps of 0.5 s); rnn.keras takes 20 steps."""
    models = described_copy(project, tmp_path)

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
    capsys, project, tmp_path, arch, section, key, value, was
):
    """lstm.json says hop 256, the set (ensemble.json) 512; bilstm.json was trained on other
    data: the models come from different runs."""
    models = described_copy(project, tmp_path)
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


def test_refuses_a_model_retrained_after_the_ensemble(capsys, project, tmp_path):
    """mlp.keras and mlp.json retrained together (on other data) after ensemble.json."""
    models = described_copy(project, tmp_path)
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
    capsys, project, tmp_path, what, change, expected
):
    models = described_copy(project, tmp_path)
    if change == "weights only":  # as written before models described themselves
        (models / "ensemble.json").write_text(json.dumps({"weights": WEIGHTS}))
    elif change == "missing":
        (models / "lstm.json").unlink()
    elif change == "garbage":
        (models / "ensemble.json").write_text("{not json")
    else:
        edit_description(models / "ensemble.json", lambda d: d["features"].reverse())
    assert expected in refusal(capsys, tmp_path), what


# --- the installed console command ----------------------------------------------------------


def run_console(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if not GENRE_BIN.is_file():
        pytest.skip(f"console script not installed at {GENRE_BIN} (pip install -e .)")
    return subprocess.run(
        [str(GENRE_BIN), "predict", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_console_command_predicts_and_reports_errors_on_one_line(project, tmp_path):
    """Run from the project folder: params.yaml and models/ are the defaults."""
    song = write(tmp_path / "song.mp3", noise(8, 44100), sr=44100, channels=2)
    result = run_console(str(song), str(tmp_path / "missing.wav"), cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{song}: metal 50.6%, rock 17.8%, jazz 15.3% (1 window)"]
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'missing.wav'}: file not found"]


def test_console_command_without_models(tmp_path):
    (tmp_path / "params.yaml").write_text(PARAMS_YAML)
    song = write(tmp_path / "song.wav", noise(5), sr=SR)
    result = run_console(str(song), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no trained ensemble {Path('models') / 'ensemble.json'} yet: run `dvc repro` first"
    ]
