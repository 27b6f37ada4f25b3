"""Augmentation: each transform on known signals, and the manifest's counts, balance, seeds."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from genre import GENRES
from genre.errors import GenreError
from genre.features import handcrafted, spectral
from genre.features.augment import (
    COLUMNS,
    TRANSFORMS,
    apply,
    build_manifest,
    clip_count,
    stretch_frames,
)
from genre.files import read_csv, write_csv
from genre.params import AugmentParams, FeaturizeParams
from genre.stages import augment as stage

SR = 8000


def make_index(per_genre: int, genres=GENRES) -> pd.DataFrame:
    return pd.DataFrame(
        [(f"{g}.{i:05d}", g) for g in genres for i in range(per_genre)],
        columns=["track_id", "genre"],
    )


def sine(seconds: float, freq: float = 440.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def row(transform: str, **values) -> dict:
    return {
        "clip_id": f"blues.00000.{transform}1",
        "transform": transform,
        "snr_db": np.nan,
        "shift_s": np.nan,
        "stretch_rate": np.nan,
        "seed": 7,
        **values,
    }


# --- transforms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clip",
    [
        row("original"),
        row("noise", snr_db=20.0),
        row("shift", shift_s=-0.3),
        row("stretch", stretch_rate=0.8),
        row("stretch", stretch_rate=1.25),
    ],
)
def test_every_transform_keeps_length_and_dtype(clip):
    samples = sine(2.0)[:-3]  # an odd length
    out = apply(samples, clip, sample_rate=SR)
    assert out.dtype == np.float32
    assert out.shape == samples.shape
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_noise_is_added_at_the_requested_snr(snr_db):
    samples = sine(10.0)
    out = apply(samples, row("noise", snr_db=snr_db), sample_rate=SR)
    noise = out.astype(np.float64) - samples
    measured = 10 * np.log10(np.mean(samples.astype(np.float64) ** 2) / np.mean(noise**2))
    assert measured == pytest.approx(snr_db, abs=0.5)
    # white: flat spectrum, so about as much noise power above SR/4 as below
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    half = len(spectrum) // 2
    assert spectrum[half:].sum() / spectrum[:half].sum() == pytest.approx(1.0, abs=0.1)


def test_noise_realisation_comes_from_the_row_seed():
    samples = sine(1.0)
    first = apply(samples, row("noise", snr_db=15.0, seed=11), sample_rate=SR)
    again = apply(samples, row("noise", snr_db=15.0, seed=11), sample_rate=SR)
    other = apply(samples, row("noise", snr_db=15.0, seed=12), sample_rate=SR)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_noise_leaves_silence_silent():
    out = apply(np.zeros(SR, np.float32), row("noise", snr_db=10.0), sample_rate=SR)
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("shift_s", [0.25, -0.4, 1.7])
def test_shift_is_a_circular_roll(shift_s):
    samples = np.linspace(-1, 1, SR, dtype=np.float32)  # a ramp: every sample distinct
    out = apply(samples, row("shift", shift_s=shift_s), sample_rate=SR)
    np.testing.assert_array_equal(out, np.roll(samples, round(shift_s * SR)))
    assert sorted(out) == sorted(samples)  # nothing lost: what falls off comes back


def _active(samples: np.ndarray, sr: int = SR, frame: int = 80) -> tuple[float, float]:
    """First and last time (s) where the 10 ms frame RMS exceeds half its maximum."""
    rms = np.sqrt(np.mean(samples[: len(samples) // frame * frame].reshape(-1, frame) ** 2, 1))
    loud = np.flatnonzero(rms > rms.max() / 2)
    return loud[0] * frame / sr, (loud[-1] + 1) * frame / sr


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_stretch_moves_a_tone_burst_and_keeps_its_pitch(rate):
    samples = np.zeros(4 * SR, np.float32)
    samples[SR : 2 * SR] = sine(1.0)  # a 440 Hz tone from 1 s to 2 s
    out = apply(samples, row("stretch", stretch_rate=rate), sample_rate=SR)
    assert len(out) == len(samples)
    start, stop = _active(out)
    assert start == pytest.approx(1.0 / rate, abs=0.06)
    assert stop == pytest.approx(2.0 / rate, abs=0.06)
    peak = np.argmax(np.abs(np.fft.rfft(out))) * SR / len(out)
    assert peak == pytest.approx(440.0, abs=2.0)


def _frames(samples: np.ndarray):
    return handcrafted.clip_frames(samples, params=FeaturizeParams(n_fft=256, hop_length=64))


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_stretch_frames_are_the_phase_vocoders_and_move_a_burst(rate):
    samples = np.zeros(4 * SR, np.float32)
    samples[SR : 2 * SR] = sine(1.0)  # a 440 Hz tone from 1 s to 2 s
    magnitude, zcr = _frames(samples)
    clip = row("stretch", stretch_rate=rate)
    stretched, stretched_zcr = stretch_frames(magnitude, zcr, clip)
    assert stretched.shape == magnitude.shape and stretched.dtype == np.float32
    assert stretched_zcr.shape == zcr.shape
    # the phase vocoder's own frames: their magnitudes, as far as the vocoder reaches
    spectrum = spectral.stft(samples, n_fft=256, hop_length=64)
    vocoded = np.abs(spectral.phase_vocoder(spectrum, rate=rate, hop_length=64, n_fft=256))
    reach = min(len(vocoded), len(stretched))
    np.testing.assert_allclose(stretched[:reach], vocoded[:reach], rtol=1e-5, atol=1e-6)
    assert not stretched[len(vocoded) :].any()  # a squeeze ends in silence
    # the burst moves to [1, 2] s / rate; its pitch (the loudest bin) and crossing rate stay
    loud = np.flatnonzero(stretched.sum(axis=1) > stretched.sum(axis=1).max() / 2) * 64 / SR
    assert loud[0] == pytest.approx(1.0 / rate, abs=0.03)
    assert loud[-1] == pytest.approx(2.0 / rate, abs=0.03)
    peak = np.argmax(stretched[int(1.5 / rate * SR / 64)]) * SR / 256
    assert peak == pytest.approx(440.0, abs=SR / 256)
    inside = stretched_zcr[int(1.2 / rate * SR / 64) : int(1.8 / rate * SR / 64)]
    np.testing.assert_allclose(inside, 2 * 440 / SR, rtol=0.05)


def test_stretch_frames_at_rate_one_are_the_tracks():
    magnitude, zcr = _frames(sine(1.0))
    stretched, stretched_zcr = stretch_frames(magnitude, zcr, row("stretch", stretch_rate=1.0))
    np.testing.assert_array_equal(stretched, magnitude)
    np.testing.assert_array_equal(stretched_zcr, zcr)


def test_stretch_frames_refuses_other_transforms_and_a_missing_rate():
    magnitude, zcr = _frames(sine(0.5))
    with pytest.raises(GenreError, match="only a stretch"):
        stretch_frames(magnitude, zcr, row("noise", snr_db=20.0))
    with pytest.raises(GenreError, match="lacks stretch_rate.*dvc repro augment"):
        stretch_frames(magnitude, zcr, row("stretch"))


def test_apply_refuses_unknown_transforms_and_missing_parameters():
    with pytest.raises(GenreError, match="unknown transform 'reverb'"):
        apply(sine(0.5), row("reverb"), sample_rate=SR)
    with pytest.raises(GenreError, match="lacks snr_db.*dvc repro augment"):
        apply(sine(0.5), row("noise"), sample_rate=SR)


# --- manifest ---------------------------------------------------------------------------


def test_default_manifest_of_1000_tracks():
    manifest = build_manifest(make_index(100), params=AugmentParams())
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 7020
    assert manifest["clip_id"].is_unique
    kinds = manifest["transform"].value_counts()
    assert kinds["original"] == 1000
    assert max(kinds[t] for t in TRANSFORMS) - min(kinds[t] for t in TRANSFORMS) <= 1
    assert set(manifest["genre"].value_counts()) == {702}  # 20 leftover extras: 2 per genre
    per_track = manifest.groupby("track_id").size()
    assert set(per_track) == {7, 8} and (per_track == 8).sum() == 20
    # balanced genre x transform, and every track gets each transform 2 or 3 times
    table = pd.crosstab(manifest["genre"], manifest["transform"])[list(TRANSFORMS)]
    assert table.to_numpy().max() - table.to_numpy().min() <= 1
    extras = manifest[manifest["transform"] != "original"]
    assert set(extras.groupby(["track_id", "transform"]).size()) <= {2, 3}


def test_clip_ids_name_the_track_and_the_variant():
    manifest = build_manifest(make_index(2), params=AugmentParams(factor=4.0))
    clips = manifest[manifest["track_id"] == "blues.00000"]["clip_id"].tolist()
    assert clips == [
        "blues.00000.orig",
        "blues.00000.noise1",
        "blues.00000.shift1",
        "blues.00000.stretch1",
    ]
    pattern = r"[a-z]+\.\d{5}\.(orig|noise\d+|shift\d+|stretch\d+)"
    assert manifest["clip_id"].str.fullmatch(pattern).all()
    assert (manifest["clip_id"].str.rsplit(".", n=1).str[0] == manifest["track_id"]).all()


@pytest.mark.parametrize(
    ("n_tracks", "factor", "expected"),
    [
        (7, 1.0, 7),
        (10, 2.5, 25),
        (7, 7.02, 49),
        (5, 2.5, 13),
        (3, 1.2, 4),
        (1000, 7.02, 7020),
    ],
)
def test_clip_count_is_tracks_times_factor_rounded(n_tracks, factor, expected):
    genres = np.array(["blues", "jazz", "rock"])[np.arange(n_tracks) % 3]
    index = pd.DataFrame(
        {"track_id": [f"{g}.{i:05d}" for i, g in enumerate(genres)], "genre": genres}
    )
    manifest = build_manifest(index, params=AugmentParams(factor=factor))
    assert clip_count(n_tracks, factor) == expected
    assert len(manifest) == expected
    assert (manifest["transform"] == "original").sum() == n_tracks
    per_track = manifest.groupby("track_id").size()
    assert per_track.max() - per_track.min() <= 1  # extras spread evenly over tracks
    assert set(index["track_id"]) == set(per_track.index)


def test_leftover_extras_go_round_robin_over_genres():
    # 30 tracks x 1.1 = 33 clips: 3 leftover extras, one for each of the 3 genres
    index = make_index(10, genres=("blues", "jazz", "rock"))
    manifest = build_manifest(index, params=AugmentParams(factor=1.1))
    extras = manifest[manifest["transform"] != "original"]
    assert len(extras) == 3 and sorted(extras["genre"]) == ["blues", "jazz", "rock"]


def test_parameters_are_drawn_from_their_ranges_where_they_apply():
    params = AugmentParams(noise_snr_db=(10, 30), shift_max_s=5.0, stretch_rates=(0.8, 1.25))
    manifest = build_manifest(make_index(100), params=params)
    for column, transform in [
        ("snr_db", "noise"),
        ("shift_s", "shift"),
        ("stretch_rate", "stretch"),
    ]:
        used = manifest["transform"] == transform
        assert manifest.loc[used, column].notna().all()
        assert manifest.loc[~used, column].isna().all()
    snr = manifest["snr_db"].dropna()
    shift = manifest["shift_s"].dropna()
    rate = manifest["stretch_rate"].dropna()
    assert snr.between(10, 30).all() and abs(snr.mean() - 20) < 0.5
    assert shift.between(-5, 5).all() and (shift < 0).mean() == pytest.approx(0.5, abs=0.05)
    assert rate.between(0.8, 1.25).all()
    # log-uniform: squeezes (< 1) as common as stretches, geometric mean ~1
    assert (rate < 1).mean() == pytest.approx(0.5, abs=0.05)
    assert np.exp(np.log(rate).mean()) == pytest.approx(1.0, abs=0.01)


def test_manifest_is_deterministic_from_the_seed():
    index = make_index(20)
    first = build_manifest(index, params=AugmentParams(seed=3))
    pd.testing.assert_frame_equal(first, build_manifest(index, params=AugmentParams(seed=3)))
    other = build_manifest(index, params=AugmentParams(seed=4))
    assert not first["seed"].equals(other["seed"])
    assert not first["snr_db"].equals(other["snr_db"])
    assert first["seed"].is_unique


def test_a_clip_is_reproduced_from_its_csv_row(tmp_path):
    manifest = build_manifest(make_index(2), params=AugmentParams(factor=4.0))
    write_csv(manifest, tmp_path / "manifest.csv")
    reread = read_csv(tmp_path / "manifest.csv", columns=COLUMNS, made_by="augment")
    samples = sine(2.0)
    for i in range(len(manifest)):
        np.testing.assert_array_equal(
            apply(samples, manifest.iloc[i], sample_rate=SR),
            apply(samples, reread.iloc[i], sample_rate=SR),
        )


# --- stage ------------------------------------------------------------------------------


def _project(tmp_path, monkeypatch, augment_yaml="augment: {factor: 2.5}\n"):
    (tmp_path / "params.yaml").write_text(augment_yaml)
    monkeypatch.chdir(tmp_path)


def test_stage_writes_only_the_manifest(tmp_path, monkeypatch, capsys):
    _project(tmp_path, monkeypatch)
    write_csv(make_index(2).assign(path="x.wav"), tmp_path / "data/raw/index.csv")
    stage.main()
    manifest = read_csv(
        tmp_path / "data/augmented/manifest.csv", columns=COLUMNS, made_by="augment"
    )
    assert len(manifest) == 50
    assert [p.name for p in (tmp_path / "data/augmented").iterdir()] == ["manifest.csv"]
    assert "20 tracks -> 50 clips" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("index_text", "message"),
    [
        (None, r"data/raw/index.csv is missing: run `dvc repro download`"),
        ("track_id,path\nblues.00000,x.wav\n", "lacks columns \\['genre'\\].*stale"),
        ("track_id,genre\n", "lists no tracks"),
        ("track_id,genre\nblues.00000,blues\nblues.00000,blues\n", "blues.00000 twice"),
    ],
)
def test_stage_refuses_a_missing_or_stale_index(tmp_path, monkeypatch, index_text, message):
    _project(tmp_path, monkeypatch)
    if index_text is not None:
        (tmp_path / "data/raw").mkdir(parents=True)
        (tmp_path / "data/raw/index.csv").write_text(index_text)
    with pytest.raises(GenreError, match=message):
        stage.main()
    assert not (tmp_path / "data/augmented/manifest.csv").exists()


@pytest.mark.parametrize(
    ("augment_yaml", "message"),
    [
        ("augment: {factor: 0.5}\n", "augment.factor must be >= 1.0"),
        ("augment: {noise_snr_db: [30, 10]}\n", "augment.noise_snr_db must be \\[min, max\\]"),
        (
            "augment: {stretch_rates: [0.8]}\n",
            "augment.stretch_rates must be a \\[min, max\\] pair",
        ),
        ("augment: {shift_max_s: 0}\n", "augment.shift_max_s must be > 0"),
        ("augment: {factr: 2}\n", "augment.factr is not a known key"),
    ],
)
def test_stage_refuses_bad_params(tmp_path, monkeypatch, augment_yaml, message):
    _project(tmp_path, monkeypatch, augment_yaml)
    write_csv(make_index(2), tmp_path / "data/raw/index.csv")
    with pytest.raises(GenreError, match=message):
        stage.main()


def test_stage_command_prints_one_error_line(tmp_path):
    (tmp_path / "params.yaml").write_text("augment: {}\n")
    done = subprocess.run(
        [sys.executable, "-m", "genre.stages.augment"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: data/raw/index.csv is missing: run `dvc repro download` first"
    ]
