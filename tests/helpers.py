"""Plain helpers the tests share: test audio, the two small model sets, `genre predict` run
in-process, the installed console script, a free port. Fixtures built on them are in
conftest.py; tiny_project.py makes whole git + DVC projects for the end-to-end tests.

Not a test module (no `test_` prefix); tests/ is on sys.path under pytest, so tests import it
with `from helpers import ...`. Functions, not fixtures: tests call them with arguments, several
times, and at import time (parametrize lists).
"""

import json
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre import GENRES
from genre.features.layout import FEATURE_NAMES, FeatureSettings
from genre.files import write_json
from genre.models import modelset, registry
from genre.params import DataParams, FeaturizeParams, ModelParams

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv running the tests: dvc, python, genre
GTZAN_SAMPLE = ROOT.parent / "shared" / "gtzan-sample"  # 10 real clips, one per genre
SR = 22050


# --- test audio ---------------------------------------------------------------------------


def noise(seconds: float, *, sr: int = SR, seed: int = 0, amplitude: float = 0.3) -> np.ndarray:
    """White noise (high zero-crossing rate: "metal" to the known-answer models)."""
    rng = np.random.default_rng(seed)
    y = amplitude * rng.standard_normal(int(seconds * sr))
    return np.clip(y, -1, 1).astype(np.float32)


def tone(seconds: float, *, hz: float = 220.0, sr: int = SR, amplitude: float = 0.5):
    """A sine (low zero-crossing rate: "classical" to the known-answer models)."""
    phase = 2 * np.pi * hz * np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(phase)).astype(np.float32)


def chord(seconds: float, *, root: float = 261.6, sr: int = SR) -> np.ndarray:
    """A major chord with its octave ("jazz" to the trained tiny models)."""
    t = np.arange(int(seconds * sr)) / sr
    y = sum(np.sin(2 * np.pi * root * r * t) for r in (1, 2 ** (4 / 12), 2 ** (7 / 12), 2))
    return (0.15 * y).astype(np.float32)


FORMATS = {  # extension -> (libsndfile format, default subtype)
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "au": ("AU", "PCM_16"),
}


def write(path: Path, samples: np.ndarray, *, sr: int = SR, channels: int = 1, subtype=None):
    """Write audio in the format its extension names (stereo: the samples and half of them);
    skip the test where this libsndfile cannot write that format."""
    fmt, default = FORMATS[path.suffix[1:]]
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.stack([samples, 0.5 * samples], axis=1) if channels == 2 else samples
    sf.write(path, data, sr, format=fmt, subtype=subtype or default)
    return path


# --- model descriptions -------------------------------------------------------------------


def describe(
    folder: Path,
    arch: str,
    *,
    data: DataParams,
    featurize: FeaturizeParams | None = None,
    genres: tuple[str, ...] = GENRES,
    fingerprints: Path | None = None,
) -> dict:
    """Write folder/<arch>.json for folder/<arch>.keras as the train stage does (its input
    shape from the settings); `fingerprints` holds the index.csv and split.csv it names
    (default: the stage's own paths)."""
    featurize = featurize or FeaturizeParams()
    paths = {}
    if fingerprints is not None:
        paths = {"index_path": fingerprints / "index.csv", "split_path": fingerprints / "split.csv"}
    settings = FeatureSettings(data.sample_rate, data.duration_s, featurize)
    description = modelset.describe_model(
        arch,
        model_file=modelset.model_path(arch, folder),
        shape=settings.input_shape(sequences=registry.get(arch).sequences),
        genres=genres,
        data=data,
        featurize=featurize,
        **paths,
    )
    write_json(description, modelset.description_path(arch, folder))
    return description


def describe_ensemble(folder: Path, weights: dict[str, float]) -> dict:
    """Write folder/ensemble.json from every registered model's description, as the ensemble
    stage does (a model `weights` does not list weighs 1, as in params.yaml)."""
    descriptions = {
        arch: modelset.read(modelset.description_path(arch, folder), model=arch)
        for arch in registry.names()
    }
    full = {arch: weights.get(arch, 1.0) for arch in registry.names()}
    ensemble = modelset.describe_ensemble(descriptions, weights=full, models_dir=folder)
    write_json(ensemble, modelset.description_path(registry.ENSEMBLE, folder))
    return ensemble


def stand_in_fingerprints(folder: Path, *, index: str, split: str) -> Path:
    """folder/index.csv and folder/split.csv, stand-ins for data/raw/index.csv and
    data/split/split.csv (a description holds their md5)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.csv").write_text(index)
    (folder / "split.csv").write_text(split)
    return folder


# --- the known-answer model set: hand-weighted, no training ---------------------------------

DURATION_S = 10.0  # its clip (and window) length: 20 steps of 0.5 s
STEPS = 20
ZCR = FEATURE_NAMES.index("zcr_mean")
KNOWN_DATA = DataParams(duration_s=DURATION_S, sample_rate=SR)
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
LSTM_P = {"rock": 0.7, "pop": 0.2}  # the constant models' probabilities, whatever the input
BILSTM_P = {"jazz": 0.6, "blues": 0.3}
WEIGHTS = {"mlp": 2.0, "rnn": 0.0, "lstm": 1.0, "bilstm": 1.0}  # models/ensemble.json's


def distribution(top: dict[str, float]) -> np.ndarray:
    """`top` probabilities, the rest shared evenly by the other genres."""
    rest = (1 - sum(top.values())) / (len(GENRES) - len(top))
    return np.array([top.get(g, rest) for g in GENRES])


def softmax_on(inputs, *, kernel: np.ndarray, bias: np.ndarray):
    """A softmax layer on `inputs` ([n, 44] features) holding these weights."""
    import keras

    layer = keras.layers.Dense(len(bias), activation="softmax")
    outputs = layer(inputs)
    layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return outputs


def zcr_detector(*, high: int, low: int, genres: int) -> dict[str, np.ndarray]:
    """Weights whose logit of class `high` is 1000 (zcr - 0.05) and of `low` its opposite:
    noise (zcr > 0.3) -> high, a low tone (zcr < 0.05) -> low."""
    kernel, bias = np.zeros((len(FEATURE_NAMES), genres)), np.zeros(genres)
    kernel[ZCR, high], kernel[ZCR, low] = 1000, -1000
    bias[high], bias[low] = -50, 50
    return {"kernel": kernel, "bias": bias}


def constant(top: dict[str, float]) -> dict[str, np.ndarray]:
    """Weights giving distribution(top) whatever the input."""
    return {
        "kernel": np.zeros((len(FEATURE_NAMES), len(GENRES))),
        "bias": np.log(distribution(top)),
    }


def build_models(folder: Path) -> None:
    """The known-answer set in `folder`, described as the train and ensemble stages describe
    theirs: mlp, a ZCR detector on the summary (noise -> metal, tone -> classical); rnn, the
    same on the sequence's mean (-> disco / blues; weight 0 in the ensemble); lstm and bilstm
    constant (LSTM_P, BILSTM_P)."""
    import keras

    def detector(high: str, low: str):
        return zcr_detector(high=GENRES.index(high), low=GENRES.index(low), genres=len(GENRES))

    folder.mkdir(parents=True, exist_ok=True)
    summary = keras.Input((len(FEATURE_NAMES),))
    mlp = keras.Model(summary, softmax_on(summary, **detector("metal", "classical")))
    mlp.save(folder / "mlp.keras")
    for arch, weights in (
        ("rnn", detector("disco", "blues")),
        ("lstm", constant(LSTM_P)),
        ("bilstm", constant(BILSTM_P)),
    ):
        sequence = keras.Input((STEPS, len(FEATURE_NAMES)))
        mean = keras.layers.GlobalAveragePooling1D()(sequence)
        keras.Model(sequence, softmax_on(mean, **weights)).save(folder / f"{arch}.keras")
    describe_models(folder)


def describe_models(folder: Path, archs=None, *, genres: tuple[str, ...] = GENRES) -> None:
    """Describe the known-answer set's `archs` (default: every registered one, and then the
    ensemble too) with its settings, fingerprinting stand-ins in folder/../data."""
    fingerprints = stand_in_fingerprints(
        folder.parent / "data",
        index="track_id,genre,path,seconds,sample_rate,md5,note\n",
        split="clip_id,track_id,genre,transform,subset\n",
    )
    for arch in registry.names() if archs is None else archs:
        describe(folder, arch, data=KNOWN_DATA, genres=genres, fingerprints=fingerprints)
    if archs is None or set(archs) == set(registry.names()):
        describe_ensemble(folder, WEIGHTS)


# --- made-up training inputs -------------------------------------------------------------


def fabricate(*, tracks: int = 6, clips: int = 3, steps: int = 5, seed: int = 0, genres=GENRES):
    """A split table and sequences [clips, steps, 44] to train on: per genre, a distinct offset
    on one feature (learnable), ids like the real ones. Two tracks per genre (the first ones)
    are test tracks; clip 0 of a track is the original."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = [
        {
            "clip_id": f"{genre}.{t:05d}.{c}",
            "track_id": f"{genre}.{t:05d}",
            "genre": genre,
            "transform": "original" if c == 0 else "noise",
            "subset": "test" if t < 2 else "train",
        }
        for genre in genres
        for t in range(tracks)
        for c in range(clips)
    ]
    split = pd.DataFrame(rows)
    g = np.array([list(genres).index(x) for x in split["genre"]])
    sequences = rng.normal(size=(len(split), steps, 44)).astype("float32") * 5 + 100
    sequences[np.arange(len(split)), :, g] += 25  # genre k: feature k is high
    return split, sequences


# --- the trained tiny model set: learnt from synthetic signals -----------------------------


def train_model_set(
    folder: Path,
    clips: list[tuple[np.ndarray, str]],
    *,
    archs: tuple[str, ...],
    data: DataParams,
    steps: int,
) -> Path:
    """Train `archs` (tiny) on `clips` (one window each: samples, genre), save them in
    folder/models with their descriptions as the train and ensemble stages do (equal ensemble
    weights); its path. `steps` full batches in ONE epoch: Keras' per-epoch overhead would
    dominate."""
    import keras

    from genre.features.extraction import song_features
    from genre.models.networks import build, save

    settings = FeatureSettings(data.sample_rate, data.duration_s, FeaturizeParams())
    windows = [song_features(samples, settings=settings) for samples, _ in clips]
    xs = {
        False: np.stack([summary[0] for summary, _ in windows]),
        True: np.stack([sequence[0] for _, sequence in windows]),
    }
    y = np.array([GENRES.index(genre) for _, genre in clips])
    fingerprints = stand_in_fingerprints(
        folder / "data",
        index="".join(f"{g}\n" for _, g in clips),
        split="train\n" * len(clips),
    )
    models_dir = folder / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    descriptions = {}
    keras.utils.set_random_seed(0)
    for arch in archs:
        x = xs[registry.get(arch).sequences]
        model = build(
            arch, train_x=x, params=ModelParams(units=16, layers=1, dropout=0.0), genres=GENRES
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=0.01),
            loss="sparse_categorical_crossentropy",
        )
        repeat = (steps,) + (1,) * (x.ndim - 1)
        model.fit(np.tile(x, repeat), np.tile(y, steps), epochs=1, batch_size=len(x), verbose=0)
        save(model, modelset.model_path(arch, models_dir))
        descriptions[arch] = describe(models_dir, arch, data=data, fingerprints=fingerprints)
    ensemble = modelset.describe_ensemble(
        descriptions, weights=dict.fromkeys(archs, 1.0), models_dir=models_dir
    )
    write_json(ensemble, modelset.description_path(registry.ENSEMBLE, models_dir))
    return models_dir


# --- uploads for the web page --------------------------------------------------------------


def good_uploads(folder: Path) -> list[Path]:
    """Songs of one to four windows of the trained set, in three formats."""
    return [
        write(folder / "noisy.wav", noise(6, seed=7)),
        write(folder / "tone.flac", tone(12, hz=330)),
        write(folder / "medley.ogg", np.concatenate([noise(5, seed=8), tone(5), chord(10)])),
    ]


def bad_uploads(folder: Path) -> dict[Path, str]:
    """Bad uploads -> what their message must say."""
    folder.mkdir(parents=True, exist_ok=True)
    text = folder / "notes.mp3"
    text.write_text("not audio at all\n" * 100)
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    loud, nan = noise(6, seed=3) * 100, noise(6, seed=4)
    nan[1000:2000] = np.nan
    return {
        text: "not readable audio",
        empty: "not readable audio",
        write(folder / "short.wav", tone(2)): "only 2.0 s of audio",
        write(folder / "silent.flac", np.zeros(6 * SR, np.float32)): "is silent",
        write(folder / "loud.wav", loud, subtype="FLOAT"): "beyond the format's range",
        write(folder / "nan.wav", nan, subtype="FLOAT"): "NaN",
    }


def expected_message(path: Path, model_set) -> str:
    """What the page must say for a bad upload: predict's own error, with the file's name."""
    from genre.app.predict import file_error, predict_file

    with pytest.raises(Exception) as caught:  # noqa: PT011 - any error predict reports
        predict_file(path, model_set=model_set)
    reason = file_error(path, caught.value)
    assert reason.startswith(f"{path}: ")
    return f"**Could not classify {path.name}**: {reason.removeprefix(f'{path}: ')}"


# --- commands -----------------------------------------------------------------------------


def run_predict(capsys, project: Path, *files, model: str = "mlp", json_out: bool = True):
    """`genre predict FILE... --model MODEL [--json]` in-process, with the project's models/:
    (exit code, parsed JSON (or stdout text), stderr lines)."""
    from genre.app import cli

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


def genre_command() -> Path:
    """The installed `genre` console script; skip the test where it is not installed."""
    command = BIN / "genre"
    if not command.is_file():
        pytest.skip(f"console script not installed at {command} (pip install -e .)")
    return command


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
