"""featurize.representation: the handcrafted features, musicnn's embedding or both, with the
same shapes in featurize, the model descriptions and genre predict."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre.errors import GenreError
from genre.features import extraction, representation
from genre.features.layout import (
    EMBEDDING_NAMES,
    FEATURE_NAMES,
    PATCH_SECONDS,
    FeatureSettings,
    patch_count,
)
from genre.params import FeaturizeParams

SR = 22050


def settings(representation: str, *, duration_s: float = 30.0) -> FeatureSettings:
    return FeatureSettings(SR, duration_s, FeaturizeParams(representation=representation))


def test_each_representation_has_its_names_steps_and_shapes():
    hand, emb, both = (settings(r) for r in ("handcrafted", "musicnn", "both"))
    assert hand.names == FEATURE_NAMES and len(hand.names) == 44
    assert emb.names == EMBEDDING_NAMES and len(emb.names) == 1506
    assert both.names == FEATURE_NAMES + EMBEDDING_NAMES
    assert hand.input_shape(sequences=True) == (60, 44)  # 0.5 s windows of 30 s
    assert emb.input_shape(sequences=True) == (10, 1506)  # 2.992 s patches of 30 s
    assert both.input_shape(sequences=True) == (10, 1550)
    assert both.input_shape(sequences=False) == (1550,)


@pytest.mark.parametrize(
    ("seconds", "patches"), [(30.0, 10), (10.0, 3), (6.0, 2), (3.0, 1), (1.0, 1)]
)
def test_patch_count_of_a_clip(seconds, patches):
    assert patch_count(n_samples=round(seconds * SR), sample_rate=SR) == patches
    assert patch_count(n_samples=round(seconds * 16000), sample_rate=16000) == patches


def test_handcrafted_windows_are_averaged_onto_the_patches_they_start_in():
    both = settings("both", duration_s=6.0)  # 12 windows of 0.5 s, 2 patches of 2.992 s
    windows = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    pooled = representation.onto_patches(windows, settings=both)
    # windows 0-5 start before 2.992 s, 6-11 after
    np.testing.assert_array_equal(pooled, [[2.5] * 3, [8.5] * 3])
    # windows longer than patches: each patch takes the window it falls in
    long = FeatureSettings(SR, 12.0, FeaturizeParams(representation="both", window_s=6.0))
    pooled = representation.onto_patches(np.array([[0.0], [1.0]], np.float32), settings=long)
    assert long.steps == 4 and pooled[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert pytest.approx(2.992) == PATCH_SECONDS


@pytest.fixture
def clip(gtzan_sample) -> Path:
    return gtzan_sample / "metal" / "metal.00000.wav"


def featurize_one(path: Path, rows: list[dict], *, representation: str) -> dict:
    job = extraction.TrackJob(
        path=path, source=path, positions=tuple(range(len(rows))), rows=tuple(rows)
    )
    results = extraction.featurize_track(job, settings=settings(representation))
    return {rows[i]["clip_id"]: result for i, result in results}


ROWS = [
    {"clip_id": "m.orig", "transform": "original"},
    {"clip_id": "m.noise1", "transform": "noise", "snr_db": 20.0, "seed": 7},
    {"clip_id": "m.stretch1", "transform": "stretch", "stretch_rate": 1.1},
]


def test_both_is_the_handcrafted_features_beside_the_embedding(clip):
    hand = featurize_one(clip, ROWS, representation="handcrafted")
    emb = featurize_one(clip, ROWS, representation="musicnn")
    both = featurize_one(clip, ROWS, representation="both")
    for clip_id in hand:
        e = emb[clip_id]
        assert e.summary.shape == (1506,) and e.sequence.shape == (10, 1506)
        np.testing.assert_array_equal(
            e.summary, e.sequence.mean(axis=0, dtype=np.float64).astype(np.float32)
        )
        b = both[clip_id]
        np.testing.assert_array_equal(b.summary, np.concatenate([hand[clip_id].summary, e.summary]))
        np.testing.assert_array_equal(b.sequence[:, 44:], e.sequence)
        pooled = representation.onto_patches(hand[clip_id].sequence, settings=settings("both"))
        np.testing.assert_array_equal(b.sequence[:, :44], pooled)
    # augmentation reaches the embedding: every variant embeds differently
    assert not np.array_equal(emb["m.orig"].summary, emb["m.noise1"].summary)
    assert not np.array_equal(emb["m.orig"].summary, emb["m.stretch1"].summary)


@pytest.mark.parametrize("kind", ["musicnn", "both"])
def test_predict_computes_featurize_s_features_bit_for_bit(clip, kind):
    """A one-window song: genre predict's features are the featurize stage's."""
    staged = featurize_one(clip, ROWS[:1], representation=kind)["m.orig"]
    samples, rate = sf.read(clip, dtype="float32")
    assert rate == SR
    summary, sequence = extraction.song_features(samples, settings=settings(kind))
    np.testing.assert_array_equal(summary[0], staged.summary)
    np.testing.assert_array_equal(sequence[0], staged.sequence)


def test_a_longer_song_is_embedded_window_by_window(clip):
    samples, _ = sf.read(clip, dtype="float32")
    song = np.concatenate([samples, samples[: len(samples) // 2 + 10]])  # 1.5 windows: 2
    summary, sequence = extraction.song_features(song, settings=settings("musicnn"))
    assert summary.shape == (2, 1506) and sequence.shape == (2, 10, 1506)
    np.testing.assert_array_equal(
        summary[0], featurize_one(clip, ROWS[:1], representation="musicnn")["m.orig"].summary
    )


def test_an_unknown_representation_is_refused_naming_the_key():
    with pytest.raises(GenreError, match="featurize.representation must be one of handcrafted"):
        FeaturizeParams(representation="mfcc")
