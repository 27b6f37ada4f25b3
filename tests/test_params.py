"""params.yaml parsing: defaults, validation and the one-line errors users see."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genre import params
from genre.errors import GenreError
from genre.models import registry

ROOT = Path(__file__).resolve().parents[1]


def write_params(tmp_path: Path, sections: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(sections))
    return path


@pytest.mark.parametrize("section", list(params.SECTIONS))
def test_project_params_load(section):
    loaded = params.load(section, ROOT / "params.yaml")
    assert isinstance(loaded, params.SECTIONS[section])


def test_project_params_are_the_documented_defaults():
    """params.yaml and the dataclass defaults say the same thing."""
    for section, cls in params.SECTIONS.items():
        if section != "ensemble":
            assert params.load(section, ROOT / "params.yaml") == cls(), section
    names = registry.names()
    listed = params.load("ensemble", ROOT / "params.yaml").weights_for(names)
    assert listed == params.EnsembleParams().weights_for(names)


def test_missing_keys_take_defaults(tmp_path):
    path = write_params(tmp_path, {"train": {"epochs": 3}})
    train = params.load("train", path)
    assert train.epochs == 3 and train.batch_size == params.TrainParams().batch_size
    assert params.load("model", path) == params.ModelParams()


def test_numbers_are_coerced_to_their_types(tmp_path):
    path = write_params(tmp_path, {"data": {"duration_s": 3, "clips_per_genre": 5.0}})
    data = params.load("data", path)
    assert data.duration_s == 3.0 and isinstance(data.duration_s, float)
    assert data.clips_per_genre == 5 and isinstance(data.clips_per_genre, int)


@pytest.mark.parametrize(
    ("section", "values", "message"),
    [
        ("data", {"source": "youtube"}, "data.source must be one of synthetic"),
        ("data", {"source": "local"}, "data.local_path must name a folder"),
        ("data", {"clips_per_genre": 0}, "data.clips_per_genre must be >= 1"),
        ("data", {"clips_per_genre": 2.5}, "data.clips_per_genre must be a whole number"),
        ("data", {"sample_rate": "fast"}, "data.sample_rate must be a number"),
        ("data", {"genres": "blues"}, "data.genres must be a list of genre names"),
        ("data", {"genres": ["blues"]}, "data.genres must list at least 2 genres"),
        ("data", {"genres": ["blues", "blues"]}, "data.genres lists blues twice"),
        ("data", {"genres": ["blues", "Hip Hop"]}, "data.genres names 'Hip Hop', not a genre"),
        (
            "data",
            {"genres": ["blues", "polka"]},
            "data.genres names polka, not a genre of data.source synthetic",
        ),
        ("augment", {"factor": 0.5}, "augment.factor must be >= 1.0"),
        ("augment", {"noise_snr_db": 10}, "augment.noise_snr_db must be a [min, max] pair"),
        ("augment", {"stretch_rates": [1.25, 0.8]}, "min <= max"),
        ("featurize", {"hop_length": 4096}, "featurize.hop_length must be <= n_fft"),
        ("featurize", {"n_mfcc": 20}, "featurize.n_mfcc must be <= 13"),
        ("split", {"strategy": "random"}, "split.strategy must be one of track, clip"),
        ("split", {"test_size": 0}, "split.test_size must be > 0.0"),
        ("model", {"units": True}, "model.units must be a number"),
        ("model", {"dropout": 1.5}, "model.dropout must be <= 0.95"),
        ("train", {"epochs": -1}, "train.epochs must be >= 1"),
        ("train", {"epoch": 5}, "train.epoch is not a known key"),
        ("ensemble", {"weights": [1, 2]}, "ensemble.weights must map model names"),
    ],
)
def test_bad_values_name_the_key(tmp_path, section, values, message):
    path = write_params(tmp_path, {section: values})
    with pytest.raises(GenreError, match=message.replace("[", r"\[").replace("]", r"\]")):
        params.load(section, path)


def test_data_genres_selects_gtzan_genres_or_any_genres_of_a_local_folder(tmp_path):
    path = write_params(tmp_path, {"data": {"genres": ["rock", "blues"]}})
    assert params.load("data", path).genres == ("rock", "blues")
    local = {"source": "local", "local_path": "mine", "genres": ["polka", "drone"]}
    path = write_params(tmp_path, {"data": local})
    assert params.load("data", path).genres == ("polka", "drone")  # checked on download
    assert params.DataParams().genres is None  # every genre of the source


def test_ensemble_weights_default_to_one_for_unnamed_models(tmp_path):
    path = write_params(tmp_path, {"ensemble": {"weights": {"mlp": 2, "rnn": 0}}})
    weights = params.load("ensemble", path).weights_for(registry.names())
    assert weights == {"mlp": 2.0, "rnn": 0.0, "lstm": 1.0, "bilstm": 1.0}


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"cnn": 1}, "ensemble.weights names 'cnn', not a model: one of mlp, rnn, lstm, bilstm"),
        ({"mlp": 0, "rnn": 0, "lstm": 0, "bilstm": 0}, "at least one weight above 0"),
    ],
)
def test_ensemble_weights_must_name_models_and_weigh_something(tmp_path, weights, message):
    ensemble = params.load("ensemble", write_params(tmp_path, {"ensemble": {"weights": weights}}))
    with pytest.raises(GenreError, match=message):
        ensemble.weights_for(registry.names())


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(GenreError, match="not found"):
        params.load("data", tmp_path / "nope.yaml")
    broken = tmp_path / "params.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(GenreError, match="not valid YAML"):
        params.load("data", broken)


def test_a_stage_reports_a_bad_param_in_one_line(tmp_path):
    write_params(tmp_path, {"augment": {"factor": -2}})
    result = subprocess.run(
        [sys.executable, "-m", "genre.stages.augment"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: params.yaml: augment.factor must be >= 1.0, got -2.0"
