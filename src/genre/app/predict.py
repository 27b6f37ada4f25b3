"""`genre predict SONG...`: the likeliest genres of your own audio files, from the trained models.

The models say what they need (genre.models.modelset): predict computes the features with the
settings they were trained with, never the workspace's params.yaml, by the featurize stage's own
code. A song longer than a training clip is scored window by window and the windows averaged.
Each file is on its own: a bad one gets its own `error:` line and the others are still answered.
Other code (the web page) calls `load_model_set()` once, then `predict_file()` per song.
"""

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from genre.audio import LONGEST_SONG_S
from genre.errors import GenreError, describe_os_error, native_stderr_hidden, printable
from genre.features.layout import FeatureSettings
from genre.models import registry
from genre.paths import MODELS_DIR

if TYPE_CHECKING:
    import numpy as np

MIN_SECONDS = 3.0  # shorter audio holds too little music to tell a genre
MAX_MINUTES = LONGEST_SONG_S / 60  # default --max-minutes: longer songs are refused unread
MAX_MINUTES_LIMIT = 600  # --max-minutes at most: 10 hours
SILENCE_PEAK = 1e-4  # -80 dBFS: quieter than any recording's noise floor
TOP = 3


@dataclass(frozen=True)
class Loaded:
    """A trained model ready to score: inputs batch -> probabilities [n, genres]."""

    forward: Callable
    sequences: bool  # takes [n, steps, dims] sequences (else [n, dims] summaries)


@dataclass(frozen=True)
class ModelSet:
    """The models a --model choice uses (zero-weight ones left out), loaded once, and what
    their description says: the genres in output order and how to compute their inputs.
    `description` is models/ensemble.json (or models/<arch>.json) as a dict."""

    choice: str
    description: dict
    genres: tuple[str, ...]
    features: FeatureSettings
    models: dict[str, Loaded]
    weights: dict[str, float]


@dataclass(frozen=True)
class Prediction:
    file: str
    window_probabilities: "np.ndarray"  # [windows, genres], voted over the models
    genres: tuple[str, ...]  # in output order

    @property
    def probabilities(self) -> "np.ndarray":
        """[genres]: averaged over the windows."""
        return self.window_probabilities.mean(axis=0)

    @property
    def windows(self) -> int:
        return len(self.window_probabilities)

    def top(self, k: int = TOP) -> list[tuple[str, float]]:
        """The k likeliest genres, likeliest first."""
        import numpy as np

        probabilities = self.probabilities
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [(self.genres[i], float(probabilities[i])) for i in order]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files to classify")
    parser.add_argument(
        "--model",
        choices=registry.choices(),
        default=registry.ENSEMBLE,
        help="which trained model to use (default: ensemble, weighted by models/ensemble.json)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=MODELS_DIR,
        help="trained models and their descriptions (the feature settings); default: models/",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=MAX_MINUTES,
        help="longest song to classify, in minutes (default: %(default)g); longer is refused",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")


def run(args: argparse.Namespace) -> None:
    """Classify each file; a bad file gets its own `error:` line and exit code 1 at the end."""
    from tqdm import tqdm

    from genre.app.cli import check_option
    from genre.audio import TooLong

    check_option("--max-minutes", args.max_minutes, high=MAX_MINUTES_LIMIT, unit="minutes")
    model_set = load_model_set(args.models_dir, choice=args.model)
    answers, failed = [], 0
    for file in tqdm(args.files, desc="predict", unit="file", disable=None, leave=False):
        try:
            result = predict_file(file, model_set=model_set, max_seconds=args.max_minutes * 60)
        except Exception as err:  # noqa: BLE001 - one bad file never sinks the batch
            failed += 1
            reason = file_error(file, err)
            if isinstance(err, TooLong):
                reason += ", or raise --max-minutes"
            tqdm.write(f"error: {reason}", file=sys.stderr)
            answers.append({"file": printable(file), "error": reason})
            continue
        answers.append(as_json(result))
        if not args.json:
            tqdm.write(format_line(result))
    if args.json:
        print(json.dumps(answers, indent=2))
    if failed:
        sys.exit(1)


def file_error(file: str | Path, err: Exception) -> str:
    """One line for a file that could not be classified: a GenreError's own message (it names
    the file), an OSError's path and advice, or an unexpected error's type and text."""
    name = printable(file)
    if isinstance(err, GenreError):
        text = str(err)
        return text if text.startswith(name) else f"{name}: {text}"
    if isinstance(err, OSError):
        return f"{name}: {describe_os_error(err)}"
    text = printable(err)
    text = text if len(text) <= 200 else f"{text[:197]}..."
    return f"{name}: could not be classified ({type(err).__name__}: {text})"


def load_model_set(models_dir: Path = MODELS_DIR, *, choice: str = registry.ENSEMBLE) -> ModelSet:
    """Load the models `choice` ("ensemble" or an architecture) needs, with their description;
    GenreError (one line: what differs, what to run) when missing, unloadable, stale, or when
    the models disagree with their descriptions or with each other."""
    from genre.models import modelset

    checked = modelset.check_model_set(models_dir, choice=choice)
    with native_stderr_hidden():  # TensorFlow's C++ start-up notes: not for users
        from genre.models.networks import load

    models = {}
    for arch in checked.weights:
        path = modelset.model_path(arch, models_dir)
        model = load(path)
        _check_model(model, path=path, arch=arch, checked=checked, models_dir=models_dir)
        models[arch] = Loaded(_graph(model), sequences=registry.get(arch).sequences)
    return ModelSet(
        choice, checked.description, checked.genres, checked.features, models, checked.weights
    )


def predict_file(
    file: str | Path, *, model_set: ModelSet, max_seconds: float = LONGEST_SONG_S
) -> Prediction:
    """Decode, featurize (window by window, with the model set's settings) and score one file;
    GenreError naming the file when it cannot be classified (audio.TooLong: over max_seconds)."""
    from genre.models.voting import soft_vote

    summary, sequence = file_features(file, settings=model_set.features, max_seconds=max_seconds)
    probabilities = {
        name: model.forward(sequence if model.sequences else summary)
        for name, model in model_set.models.items()
    }
    votes = soft_vote(probabilities, model_set.weights)
    return Prediction(str(file), votes, genres=model_set.genres)


def file_features(
    file: str | Path, *, settings: FeatureSettings, max_seconds: float = LONGEST_SONG_S
):
    """Summaries [windows, dims] and sequences [windows, steps, dims] of an audio file decoded
    to mono at the settings' rate; GenreError naming the file when it is missing, unreadable,
    longer than max_seconds (refused before it is decoded), shorter than MIN_SECONDS or silent."""
    from genre.audio import read
    from genre.features.extraction import song_features

    # NaN/inf, peak, sample rate, length: checked there
    samples = read(file, sample_rate=settings.sample_rate, max_seconds=max_seconds).samples
    check_playable(samples, name=printable(file), sample_rate=settings.sample_rate)
    try:
        return song_features(samples, settings=settings)
    except GenreError as err:
        raise GenreError(f"{printable(file)}: {err}") from None
    except (ArithmeticError, ValueError, FloatingPointError) as err:
        raise GenreError(
            f"{printable(file)}: feature extraction failed ({type(err).__name__}: {err})"
        ) from None


def check_playable(samples, *, name: str, sample_rate: int) -> None:
    """Before feature extraction: refuse audio too short to tell a genre, or silent (peak
    below SILENCE_PEAK, -80 dBFS: what is left is noise, not music)."""
    import numpy as np

    seconds = len(samples) / sample_rate
    if seconds < MIN_SECONDS:
        raise GenreError(
            f"{name}: only {seconds:.1f} s of audio; at least {MIN_SECONDS:g} s are needed"
        )
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak == 0:
        raise GenreError(f"{name}: is silent (every sample is 0): nothing to classify")
    if peak < SILENCE_PEAK:
        raise GenreError(
            f"{name}: is silent (peak {20 * np.log10(peak):.0f} dBFS, below "
            f"{20 * np.log10(SILENCE_PEAK):.0f} dBFS): nothing to classify"
        )


def format_line(result: Prediction) -> str:
    """e.g. `song.mp3: rock 62.1%, metal 21.0%, blues 8.3% (8 windows)`."""
    top = ", ".join(f"{genre} {p:.1%}" for genre, p in result.top())
    windows = "1 window" if result.windows == 1 else f"{result.windows} windows"
    return f"{printable(result.file)}: {top} ({windows})"


def as_json(result: Prediction) -> dict:
    top = [{"genre": genre, "probability": p} for genre, p in result.top()]
    return {"file": printable(result.file), "top": top, "windows": result.windows}


def _graph(model) -> Callable:
    """The model's forward pass as ONE TensorFlow graph for any number of windows, traced now
    (start-up): eager Keras steps recurrent layers in Python (~0.3 s a call for the BiLSTM
    against ~10 ms), and predict_on_batch would retrace per batch size."""
    import numpy as np
    import tensorflow as tf

    shape = tuple(model.input_shape[1:])
    spec = tf.TensorSpec((None, *shape), tf.float32)
    forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    forward(np.zeros((1, *(d or 1 for d in shape)), np.float32))
    return lambda x: forward(x).numpy()


def _check_model(model, *, path: Path, arch: str, checked, models_dir: Path) -> None:
    """The saved model must be what its description says: inputs (n, *shape), one output per
    described genre."""
    from genre.models import modelset

    want = (None, *checked.shapes[arch])
    got = tuple(model.input_shape)
    described = modelset.description_path(arch, models_dir)
    if got != want:
        raise GenreError(
            f"{path} takes inputs shaped {got}, but {described} describes {want}: "
            f"{modelset.REBUILD}"
        )
    if model.output_shape[-1] != len(checked.genres):
        raise GenreError(
            f"{path} predicts {model.output_shape[-1]} classes, but {described} lists "
            f"{len(checked.genres)} genres: {modelset.REBUILD}"
        )
