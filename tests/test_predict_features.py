"""`genre predict`, what it computes from audio: a song split into training-clip windows, each
window's features those of the featurize stage (bit for bit), any format, rate and channel
count decoded alike. Answers come from the known-answer models (conftest.known_project):
noise -> metal, a low tone -> classical."""

import numpy as np
import pandas as pd
import pytest
from helpers import DURATION_S, SR, STEPS, ZCR, noise, run_predict, tone, write
from threadpoolctl import threadpool_limits

from genre.app.predict import MIN_SECONDS, file_features
from genre.audio import write_wav
from genre.features.extraction import song_features, split_windows
from genre.features.handcrafted import FEATURE_NAMES, clip_features, estimate_tuning
from genre.features.layout import FeatureSettings
from genre.params import FeaturizeParams


def detuned_chord(seconds: float, *, detune: float = 0.3, seed: int = 0) -> np.ndarray:
    """An A-major chord a third of a semitone sharp, plus a little noise: music-like audio
    whose chroma tuning estimate is far from 0."""
    t = np.arange(int(seconds * SR)) / SR
    cents = 2 ** (detune / 12)
    y = sum(np.sin(2 * np.pi * 440 * cents * r * t) for r in (1, 2 ** (4 / 12), 2 ** (7 / 12)))
    return (0.2 * y + 0.01 * noise(seconds, seed=seed)).astype(np.float32)


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
    song = np.concatenate([noise(10), tone(10), detuned_chord(6)])  # 6 s: a partial window
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


# --- the same features as the featurize stage -------------------------------------------------


def featurize_stage(root, tracks, *, duration_s: float, monkeypatch):
    """Run the real featurize stage (in this process, one worker) on a project holding
    `tracks` (track id -> mono 16-bit WAV at SR, copied into data/raw); return {track id:
    (summary [44], sequence)}."""
    from genre.features import extraction
    from genre.features.augment import COLUMNS
    from genre.stages import featurize

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
    with monkeypatch.context() as patch:
        patch.chdir(root)
        patch.setenv(extraction.N_JOBS_ENV, "1")  # a few tracks: no worker processes to start
        patch.delenv(extraction.DASK_ENV, raising=False)
        featurize.main()
    summary = pd.read_parquet(root / "data" / "features" / "summary.parquet")
    sequences = np.load(root / "data" / "features" / "sequences.npy")
    return {
        row.track_id: (summary.loc[i, list(FEATURE_NAMES)].to_numpy(np.float32), sequences[i])
        for i, row in summary.iterrows()
    }


def assert_predict_features_equal_featurize(root, tracks, *, duration_s, monkeypatch):
    staged = featurize_stage(root, tracks, duration_s=duration_s, monkeypatch=monkeypatch)
    settings = FeatureSettings(SR, duration_s, FeaturizeParams())
    for track_id, path in tracks.items():
        summary, sequence = file_features(path, settings=settings)
        assert summary.shape == (1, 44)  # one window: <= 1.5 training clips
        np.testing.assert_array_equal(summary[0], staged[track_id][0], err_msg=track_id)
        np.testing.assert_array_equal(sequence[0], staged[track_id][1], err_msg=track_id)


def test_features_equal_the_featurize_stage_bit_for_bit(tmp_path, monkeypatch):
    """12 s (cropped to 10 by both), exactly 10 s, and 7 s (zero-padded by both)."""
    tracks = {}
    for i, seconds in enumerate((12.0, 10.0, 7.0)):
        tracks[f"jazz.{i:05d}"] = tmp_path / f"song{i}.wav"
        write_wav(tracks[f"jazz.{i:05d}"], detuned_chord(seconds, seed=i), sample_rate=SR)
    tuning = estimate_tuning(detuned_chord(10.0), sample_rate=SR, params=FeaturizeParams())
    assert abs(tuning) > 0.1  # the shared tuning matters: chroma differs without it
    assert_predict_features_equal_featurize(
        tmp_path / "project", tracks, duration_s=10.0, monkeypatch=monkeypatch
    )


def test_features_equal_the_featurize_stage_on_real_gtzan_clips(
    tmp_path, gtzan_sample, monkeypatch
):
    tracks = {
        f"{genre}.00000": gtzan_sample / genre / f"{genre}.00000.wav"
        for genre in ("classical", "metal")
    }
    assert_predict_features_equal_featurize(
        tmp_path, tracks, duration_s=30.0, monkeypatch=monkeypatch
    )


# --- formats, rates, channels ---------------------------------------------------------------


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
    capsys, known_project, tmp_path, ext, sr, channels, signal, genre
):
    samples = (noise if signal == "noise" else tone)(6.0, sr=sr)
    path = write(tmp_path / f"song.{ext}", samples, sr=sr, channels=channels)
    code, out, err = run_predict(capsys, known_project, path)
    assert code == 0, err
    (result,) = out
    assert result["file"] == str(path) and result["windows"] == 1
    assert result["top"][0]["genre"] == genre
    assert result["top"][0]["probability"] > 0.99


def test_long_song_is_scored_over_windows_and_averaged(capsys, known_project, tmp_path):
    """100 s = 10 windows of 10 s: 6 of noise (metal), 4 of tone (classical)."""
    song = write(tmp_path / "long.flac", np.concatenate([noise(60), tone(40)]))
    code, out, _ = run_predict(capsys, known_project, song)
    assert code == 0
    (result,) = out
    assert result["windows"] == 10
    top = {t["genre"]: t["probability"] for t in result["top"]}
    assert list(top)[:2] == ["metal", "classical"]
    assert top["metal"] == pytest.approx(0.6, abs=1e-4)
    assert top["classical"] == pytest.approx(0.4, abs=1e-4)


def test_song_shorter_than_a_training_clip_is_one_padded_window(capsys, known_project, tmp_path):
    song = write(tmp_path / "short.wav", tone(MIN_SECONDS + 1))
    code, out, _ = run_predict(capsys, known_project, song)
    assert code == 0 and out[0]["windows"] == 1 and out[0]["top"][0]["genre"] == "classical"
