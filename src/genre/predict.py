"""`genre predict SONG...`: the top 3 genres of your own audio files, from the trained models.

Any format libsndfile reads (WAV, FLAC, AU, OGG, MP3), any sample rate, mono or stereo: each
file is decoded to mono at data.sample_rate (genre.audio.read) and described by the SAME code
as the featurize stage (genre.features.clip_features, the chroma tuning estimated once per
file as featurize does per track: a one-window file gets featurize's features bit for bit).
A song longer than the training clips (data.duration_s) is cut into consecutive windows of
that length, all scored in one batch, and their probabilities averaged. A final partial window
counts if it holds at least half a window (it is zero-padded, as featurize pads a short clip),
else it is dropped. A file shorter than MIN_SECONDS, or silent, is refused.

--model ensemble (default) averages the four models' probabilities with the weights in
models/ensemble.json; mlp, rnn, lstm or bilstm uses that model alone.
"""

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genre import ARCHITECTURES, GENRES
from genre.errors import GenreError, native_stderr_hidden

MIN_SECONDS = 3.0  # shorter audio holds too little music to tell a genre
TOP = 3
CHOICES = ("ensemble", *ARCHITECTURES)
REPRO = "run `dvc repro` first"


@dataclass(frozen=True)
class Loaded:
    """A trained model ready to score: features batch -> probabilities [n, len(GENRES)]."""

    forward: Callable[[np.ndarray], object]
    sequence: bool  # takes [n, steps, 44] sequences (else [n, 44] summaries)
    weight: float  # its share of the ensemble vote


@dataclass(frozen=True)
class Prediction:
    file: str
    probabilities: np.ndarray  # [len(GENRES)], averaged over windows (and models)
    windows: int

    def top(self, k: int = TOP) -> list[tuple[str, float]]:
        """The k likeliest genres, likeliest first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(GENRES[i], float(self.probabilities[i])) for i in order]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files to classify")
    parser.add_argument(
        "--model",
        choices=CHOICES,
        default="ensemble",
        help="which trained model to use (default: ensemble, weighted by models/ensemble.json)",
    )
    parser.add_argument("--models-dir", type=Path, default=Path("models"), help="default: models/")
    parser.add_argument(
        "--params",
        type=Path,
        default=Path("params.yaml"),
        help="feature settings (data, featurize sections); default: params.yaml",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")


def run(args: argparse.Namespace) -> None:
    """Classify each file; a bad file gets its own `error:` line and exit code 1 at the end."""
    from tqdm import tqdm

    from genre import params

    data = params.load("data", args.params)
    featurize = params.load("featurize", args.params)
    models = load_models(args.models_dir, choice=args.model, steps=_steps(data, featurize))
    results, failed = [], 0
    for file in tqdm(args.files, desc="predict", unit="file", disable=None, leave=False):
        try:
            result = predict_file(file, models=models, data=data, featurize=featurize)
        except GenreError as err:
            failed += 1
            tqdm.write(f"error: {err}", file=sys.stderr)
            continue
        results.append(result)
        if not args.json:
            tqdm.write(format_line(result))
    if args.json:
        print(json.dumps([as_json(r) for r in results], indent=2))
    if failed:
        sys.exit(1)


def load_models(models_dir: Path, *, choice: str, steps: int) -> dict[str, Loaded]:
    """The models --model `choice` needs (zero-weight ones left out), each checked against the
    feature shapes params.yaml gives; GenreError when missing, unloadable or stale."""
    models_dir = Path(models_dir)
    weights = ensemble_weights(models_dir) if choice == "ensemble" else {choice: 1.0}
    with native_stderr_hidden():  # TensorFlow's C++ start-up notes: not for users
        from genre.models import load

    models = {}
    for arch, weight in weights.items():
        if weight <= 0:
            continue
        path = models_dir / f"{arch}.keras"
        if not path.is_file():
            raise GenreError(f"no trained model {path} yet: {REPRO}")
        model = load(path, made_by=f"train_{arch}")
        _check_input(model, path=path, arch=arch, steps=steps)
        models[arch] = Loaded(_graph(model), sequence=arch != "mlp", weight=weight)
    return models


def ensemble_weights(models_dir: Path) -> dict[str, float]:
    """The soft-voting weights in <models_dir>/ensemble.json."""
    path = Path(models_dir) / "ensemble.json"
    if not path.is_file():
        raise GenreError(f"no trained ensemble {path} yet: {REPRO}")
    try:
        weights = json.loads(path.read_text())["weights"]
        weights = {arch: float(weights[arch]) for arch in ARCHITECTURES}
    except (ValueError, KeyError, TypeError) as err:
        raise GenreError(
            f"{path} does not hold weights for {', '.join(ARCHITECTURES)} ({err!r}): "
            "run `dvc repro ensemble`"
        ) from None
    if min(weights.values()) < 0 or sum(weights.values()) <= 0:
        raise GenreError(f"{path} has no positive weights {weights}: run `dvc repro ensemble`")
    return weights


def predict_file(file: str | Path, *, models: dict, data, featurize) -> Prediction:
    """Decode, featurize (window by window) and score one file."""
    summary, sequence = file_features(file, data=data, featurize=featurize)
    probabilities = score(models, summary=summary, sequence=sequence)
    return Prediction(str(file), probabilities, windows=len(summary))


def file_features(file: str | Path, *, data, featurize) -> tuple[np.ndarray, np.ndarray]:
    """song_features of an audio file decoded to mono at data.sample_rate; GenreError naming
    the file when it is missing, unreadable, shorter than MIN_SECONDS or silent."""
    from genre.audio import read

    samples = read(file, sample_rate=data.sample_rate).samples
    seconds = len(samples) / data.sample_rate
    if seconds < MIN_SECONDS:
        raise GenreError(
            f"{file}: only {seconds:.1f} s of audio; at least {MIN_SECONDS:g} s are needed"
        )
    if not np.any(samples):
        raise GenreError(f"{file}: is silent (every sample is 0): nothing to classify")
    try:
        return song_features(
            samples, sample_rate=data.sample_rate, duration_s=data.duration_s, params=featurize
        )
    except GenreError as err:
        raise GenreError(f"{file}: {err}") from None


def song_features(samples: np.ndarray, *, sample_rate: int, duration_s: float, params):
    """Summary [n, 44] and sequence [n, steps, 44] features of a song's n windows, each by
    genre.features.clip_features. The chroma tuning is estimated once, on the audio the windows
    cover (padded like them): for a one-window song exactly what featurize does per track.
    BLAS runs single-threaded, as in featurize, so the sums (and features) are bitwise equal."""
    from threadpoolctl import threadpool_limits

    from genre import features
    from genre.audio import fit_length

    size = features.clip_samples(sample_rate=sample_rate, duration_s=duration_s)
    windows = split_windows(samples, size=size)
    covered = fit_length(samples, len(windows) * size)
    with threadpool_limits(limits=1):
        tuning = features.estimate_tuning(covered, sample_rate=sample_rate, params=params)
        clips = [
            features.clip_features(
                window,
                sample_rate=sample_rate,
                duration_s=duration_s,
                params=params,
                tuning=tuning,
            )
            for window in windows
        ]
    return np.stack([c.summary for c in clips]), np.stack([c.sequence for c in clips])


def split_windows(samples: np.ndarray, *, size: int) -> list[np.ndarray]:
    """Consecutive windows of `size` samples. The final partial window is kept when it holds
    at least half a window, else dropped; audio shorter than a window is one (short) window."""
    windows = [samples[start : start + size] for start in range(0, len(samples), size)]
    if len(windows) > 1 and 2 * len(windows[-1]) < size:
        windows.pop()
    return windows


def score(models: dict, *, summary: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Weighted mean over models of each model's probabilities averaged over the windows.

    Each model sees all windows in one call (the MLP the summaries, the others the sequences).
    """
    total = np.zeros(len(GENRES))
    for model in models.values():
        probs = model.forward(sequence if model.sequence else summary)
        total += model.weight * np.asarray(probs, dtype=np.float64).mean(axis=0)
    return total / sum(model.weight for model in models.values())


def format_line(result: Prediction) -> str:
    """e.g. `song.mp3: rock 62.1%, metal 21.0%, blues 8.3% (8 windows)`."""
    top = ", ".join(f"{genre} {p:.1%}" for genre, p in result.top())
    windows = "1 window" if result.windows == 1 else f"{result.windows} windows"
    return f"{result.file}: {top} ({windows})"


def as_json(result: Prediction) -> dict:
    top = [{"genre": genre, "probability": p} for genre, p in result.top()]
    return {"file": result.file, "top": top, "windows": result.windows}


def _steps(data, featurize) -> int:
    from genre.features import window_layout

    steps, _ = window_layout(
        sample_rate=data.sample_rate, duration_s=data.duration_s, params=featurize
    )
    return steps


def _graph(model) -> Callable:
    """The model's forward pass as ONE TensorFlow graph for any number of windows, traced now
    (start-up). Eager Keras steps recurrent layers in Python: ~0.3 s a call for the BiLSTM
    against ~10 ms for the graph; Keras' predict_on_batch would retrace per batch size."""
    import tensorflow as tf

    shape = tuple(model.input_shape[1:])
    spec = tf.TensorSpec((None, *shape), tf.float32)
    forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    forward(np.zeros((1, *(d or 1 for d in shape)), np.float32))
    return forward


def _check_input(model, *, path: Path, arch: str, steps: int) -> None:
    """The model must take what predict feeds it: (n, 44) or (n, steps, 44) raw features."""
    from genre.features import FEATURE_NAMES

    want = (None, len(FEATURE_NAMES)) if arch == "mlp" else (None, steps, len(FEATURE_NAMES))
    got = tuple(model.input_shape)
    if len(got) != len(want) or any(
        g is not None and w is not None and g != w for g, w in zip(got, want, strict=True)
    ):
        raise GenreError(
            f"{path} takes inputs shaped {got}, but params.yaml (data.duration_s, featurize) "
            f"gives {want}: retrain with `dvc repro`"
        )
