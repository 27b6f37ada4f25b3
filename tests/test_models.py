"""The four Keras models: shapes, softmax output, scaling inside the saved model."""

import numpy as np
import pytest

from genre import GENRES
from genre.errors import GenreError
from genre.models import registry
from genre.models.networks import build, keras, load, save
from genre.params import ModelParams

PARAMS = ModelParams(units=8, layers=2, dropout=0.2)


def raw_features(arch: str, n: int = 24, *, seed: int = 0) -> np.ndarray:
    """Features on very different scales (like raw audio features: Hz next to ratios)."""
    rng = np.random.default_rng(seed)
    scale = np.geomspace(1e-3, 1e4, 44).astype("float32")
    shape = (n, 44) if arch == "mlp" else (n, 5, 44)
    return (rng.normal(size=shape).astype("float32") + 3.0) * scale


@pytest.mark.parametrize("arch", registry.names())
def test_output_is_a_distribution_over_genres(arch):
    x = raw_features(arch)
    model = build(arch, train_x=x, params=PARAMS, genres=GENRES)
    assert model.input_shape == (None, *x.shape[1:])
    probs = model.predict(x, verbose=0)
    assert probs.shape == (len(x), len(GENRES))
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("arch", registry.names())
def test_hidden_layers_have_the_chosen_width(arch):
    model = build(
        arch, train_x=raw_features(arch), params=ModelParams(units=12, layers=3), genres=GENRES
    )
    hidden = [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Dense, keras.layers.RNN, keras.layers.Bidirectional))
        and layer.name != "genre"
    ]
    assert len(hidden) == 3
    assert all(layer.output.shape[-1] == 12 for layer in hidden)
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 3


@pytest.mark.parametrize("arch", ["mlp", "lstm"])
def test_normalization_is_fitted_on_the_training_features(arch):
    x = raw_features(arch, n=200)
    model = build(arch, train_x=x, params=PARAMS, genres=GENRES)
    scaled = np.asarray(model.get_layer("normalize")(x)).reshape(-1, 44)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-2)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-2)


@pytest.mark.parametrize("arch", ["mlp", "bilstm"])
def test_saved_model_takes_raw_features(tmp_path, arch):
    x = raw_features(arch)
    model = build(arch, train_x=x, params=PARAMS, genres=GENRES)
    path = tmp_path / "models" / f"{arch}.keras"
    save(model, path)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    reloaded = load(path)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_one_output_per_genre_of_the_data_and_load_checks_the_count(tmp_path):
    """A data set of 3 made-up genres gives 3 outputs; load refuses a count its description
    does not list."""
    x = raw_features("mlp")
    model = build("mlp", train_x=x, params=PARAMS, genres=("chiptune", "drone", "polka"))
    probs = model.predict(x, verbose=0)
    assert probs.shape == (len(x), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    save(model, tmp_path / "mlp.keras")
    assert load(tmp_path / "mlp.keras", genres=3).output_shape == (None, 3)
    with pytest.raises(GenreError, match=r"predicts 3 genres, but its description lists 10: "):
        load(tmp_path / "mlp.keras", made_by="train_mlp", genres=10)
    with pytest.raises(GenreError, match="at least 2 genres"):
        build("mlp", train_x=x, params=PARAMS, genres=("drone",))


def test_unknown_architecture_is_refused():
    with pytest.raises(GenreError, match="unknown architecture 'gru'.*mlp, rnn, lstm, bilstm"):
        build("gru", train_x=raw_features("mlp"), params=PARAMS, genres=GENRES)


def test_wrong_feature_shape_is_refused():
    with pytest.raises(GenreError, match=r"rnn needs training features shaped \(n, steps"):
        build("rnn", train_x=raw_features("mlp"), params=PARAMS, genres=GENRES)


def test_missing_or_broken_model_file_is_one_clear_error(tmp_path):
    with pytest.raises(GenreError, match="missing: run `dvc repro train_mlp`"):
        load(tmp_path / "mlp.keras", made_by="train_mlp")
    broken = tmp_path / "lstm.keras"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(GenreError, match="not a loadable Keras model") as err:
        load(broken, made_by="train_lstm")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("arch", ["mlp", "lstm"])
def test_the_same_model_saves_to_the_same_bytes(tmp_path, arch):
    """Same params and data -> same files: no save time or Python object ids in the archive."""
    x = raw_features(arch)
    paths = []
    for run in range(2):
        keras.backend.clear_session()  # as in a fresh process: layer names count from 0
        keras.utils.set_random_seed(1)
        paths.append(tmp_path / f"run{run}" / f"{arch}.keras")
        save(build(arch, train_x=x, params=PARAMS, genres=GENRES), paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    np.testing.assert_array_equal(load(paths[0]).predict(x, verbose=0), raw_predict(arch, x))


def raw_predict(arch: str, x: np.ndarray) -> np.ndarray:
    keras.backend.clear_session()
    keras.utils.set_random_seed(1)
    return build(arch, train_x=x, params=PARAMS, genres=GENRES).predict(x, verbose=0)
