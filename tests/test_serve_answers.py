"""`genre serve`, the service behind the page: its answer is `genre predict`'s (identical
probabilities, a genre per window), every bad upload gets one message and the next upload is
still answered, and a missing model set says what to run. On conftest.trained_models: an MLP
and a SimpleRNN really trained (tiny) on noise -> metal, tones -> classical, chords -> jazz."""

import os
import shutil

import numpy as np
import pytest
from helpers import bad_uploads, chord, expected_message, good_uploads, noise, tone, write

from genre import GENRES
from genre.app.predict import load_model_set, predict_file
from genre.app.serve import Service


@pytest.fixture(scope="module")
def service(trained_models) -> Service:
    return Service(models_dir=trained_models)


# --- the answer: genre predict's own ---------------------------------------------------------


@pytest.mark.parametrize("choice", ["ensemble", "mlp", "rnn"])
def test_answer_has_the_probabilities_of_genre_predict(service, trained_models, tmp_path, choice):
    model_set = load_model_set(trained_models, choice=choice)
    for path in good_uploads(tmp_path):
        answer = service.answer(str(path), choice)
        want = predict_file(path, model_set=model_set)
        assert answer.ok, answer.message
        assert list(answer.probabilities) == list(want.genres) == list(GENRES)
        np.testing.assert_array_equal(list(answer.probabilities.values()), want.probabilities)
        assert [row["genre"] for row in answer.timeline] == [
            want.genres[i] for i in want.window_probabilities.argmax(axis=1)
        ]
        (top, p), *_ = want.top(1)
        assert answer.message.startswith(f"**{path.name}**: most likely **{top}** ({p:.1%}")


def test_trained_answers_and_the_timeline_of_a_long_song(service, tmp_path):
    """The tiny models learnt their signals; a 20 s song is four 5 s windows, each labelled."""
    song = write(tmp_path / "medley.wav", np.concatenate([noise(10, seed=9), tone(5), chord(5)]))
    answer = service.answer(song, "mlp")
    assert [(r["window"], r["genre"]) for r in answer.timeline] == [
        ("00:00-00:05", "metal"),
        ("00:05-00:10", "metal"),
        ("00:10-00:15", "classical"),
        ("00:15-00:20", "jazz"),
    ]
    assert all(0.5 < r["probability"] <= 1 for r in answer.timeline)
    assert sum(answer.probabilities.values()) == pytest.approx(1.0)
    assert max(answer.probabilities, key=answer.probabilities.get) == "metal"


def test_model_sets_are_loaded_once_per_choice(trained_models, tmp_path, monkeypatch):
    import genre.app.predict

    models = shutil.copytree(trained_models, tmp_path / "models")  # its mlp is touched below
    loads = []

    def counting(models_dir, *, choice):
        loads.append(choice)
        return load_model_set(models_dir, choice=choice)

    monkeypatch.setattr(genre.app.predict, "load_model_set", counting)
    service = Service(models_dir=models)
    song = write(tmp_path / "song.wav", noise(6))
    for choice in ("ensemble", "mlp", "ensemble", "mlp", "ensemble"):
        assert service.answer(song, choice).ok
    assert loads == ["ensemble", "mlp"]
    os.utime(models / "mlp.keras")  # retrained (same bytes will do): reloaded once
    assert service.answer(song, "mlp").ok and service.answer(song, "mlp").ok
    assert loads == ["ensemble", "mlp", "mlp"]


# --- bad input: one message each, the next upload still answered -----------------------------


def test_each_bad_upload_gets_one_message_naming_it(service, trained_models, tmp_path):
    model_set = load_model_set(trained_models)
    good = write(tmp_path / "good.wav", noise(6))
    for path, says in bad_uploads(tmp_path / "uploads").items():
        answer = service.answer(str(path), "ensemble")
        assert not answer.ok and answer.timeline == []
        assert answer.message == expected_message(path, model_set)
        assert says in answer.message and path.name in answer.message
        assert str(tmp_path) not in answer.message  # the server's folders are not shown
        assert service.answer(good, "ensemble").ok


def test_upload_over_the_size_limit(trained_models, tmp_path):
    song = write(tmp_path / "big.wav", noise(10))  # 441 kB of 16-bit PCM
    small = Service(models_dir=trained_models, max_bytes=100_000)
    answer = small.answer(song, "ensemble")
    assert not answer.ok
    assert answer.message == (
        "**Could not classify big.wav**: 0.4 MB is over this server's limit of "
        "0.0953674 MB: upload a shorter or compressed file"
    )


def test_no_upload_yet(service):
    answer = service.answer(None, "ensemble")
    assert not answer.ok and "Choose an audio file" in answer.message


@pytest.mark.parametrize("choice", ["ensemble", "lstm"])
def test_no_models_yet_says_what_to_run(tmp_path, choice):
    (tmp_path / "models").mkdir()
    service = Service(models_dir=tmp_path / "models")
    song = write(tmp_path / "song.wav", noise(6))
    answer = service.answer(song, choice)
    assert not answer.ok
    assert answer.message.startswith("**No model set to answer with yet**: no trained")
    assert "run `dvc repro` first" in answer.message
    assert service.about(choice) == answer.message
