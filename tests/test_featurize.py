"""Stage featurize end to end on a tiny project: outputs, order, skips, errors, determinism."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from threadpoolctl import threadpool_limits

from genre import audio, paths
from genre.errors import GenreError
from genre.features import augment, extraction, handcrafted
from genre.features.augment import build_manifest
from genre.features.layout import FeatureSettings
from genre.params import AugmentParams, FeaturizeParams
from genre.stages import featurize as stage

SR = 22050
DURATION = 2.0
STEPS = 4  # 2.0 s / 0.5 s
OUT = Path("data/features")


def signal(kind: str, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(len(kind))
    if kind == "tone":
        return 0.4 * np.sin(2 * np.pi * 440 * t)
    if kind == "chirp":
        return 0.4 * np.sin(2 * np.pi * (200 * t + 600 * t**2))
    return 0.1 * rng.standard_normal(t.size)


@pytest.fixture
def one_blas_thread():
    """Expected values computed here as in the stage: one BLAS thread (the last bit of a BLAS
    product can depend on the thread count)."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """3 tracks (one 2.3 s, cropped; one 1.5 s, padded) x 3 clips each, one process."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(extraction.N_JOBS_ENV, "1")
    monkeypatch.delenv(extraction.DASK_ENV, raising=False)
    tracks = [("blues", "tone", 2.3), ("jazz", "chirp", 1.5), ("rock", "noise", 2.0)]
    rows = []
    for genre, kind, seconds in tracks:
        path = Path(genre) / f"{genre}.00000.wav"
        (Path("data/raw") / genre).mkdir(parents=True)
        audio.write_wav(Path("data/raw") / path, signal(kind, seconds), sample_rate=SR)
        rows.append({"track_id": f"{genre}.00000", "genre": genre, "path": str(path)})
    index = pd.DataFrame(rows)
    index.to_csv("data/raw/index.csv", index=False)
    manifest = build_manifest(index, params=AugmentParams(factor=3.0))
    Path("data/augmented").mkdir(parents=True)
    manifest.to_csv("data/augmented/manifest.csv", index=False)
    write_params()
    return tmp_path


def write_params(**featurize) -> None:
    Path("params.yaml").write_text(
        yaml.safe_dump(
            {"data": {"duration_s": DURATION, "sample_rate": SR}, "featurize": featurize}
        )
    )


def manifest() -> pd.DataFrame:
    return pd.read_csv("data/augmented/manifest.csv", dtype={"clip_id": str, "track_id": str})


def expected_clip(row: dict) -> handcrafted.ClipFeatures:
    """What the stage must give for one manifest row, computed here the straightforward way."""
    path = Path("data/raw") / row["genre"] / f"{row['track_id']}.wav"
    original = audio.fit_length(audio.read(path, sample_rate=SR).samples, int(DURATION * SR))
    p = FeaturizeParams()
    tuning = handcrafted.estimate_tuning(original, sample_rate=SR, params=p)
    kw = {"sample_rate": SR, "duration_s": DURATION, "params": p, "tuning": tuning}
    if row["transform"] != "stretch":
        return handcrafted.clip_features(augment.apply(original, row, sample_rate=SR), **kw)
    magnitude, zcr = augment.stretch_frames(*handcrafted.clip_frames(original, params=p), row)
    return handcrafted.frames_clip_features(magnitude, zcr=zcr, **kw)


def test_stage_writes_features_in_manifest_order(project, one_blas_thread, capsys):
    stage.main()
    clips = manifest()
    summary = pd.read_parquet(OUT / "summary.parquet")
    sequences = np.load(OUT / "sequences.npy")
    assert list(summary.columns) == paths.ID_COLUMNS + list(handcrafted.FEATURE_NAMES)
    assert summary["clip_id"].tolist() == clips["clip_id"].tolist()
    assert summary["transform"].tolist() == clips["transform"].tolist()
    assert all(summary[name].dtype == np.float32 for name in handcrafted.FEATURE_NAMES)
    assert sequences.shape == (9, STEPS, 44) and sequences.dtype == np.float32
    for i, row in enumerate(clips.to_dict("records")):  # row i of both files is clip i
        expected = expected_clip(row)
        np.testing.assert_array_equal(summary.iloc[i, 4:].to_numpy(np.float32), expected.summary)
        np.testing.assert_array_equal(sequences[i], expected.sequence)
    assert pd.read_csv(OUT / "skipped.csv").columns.tolist() == ["clip_id", "track_id", "reason"]
    assert len(pd.read_csv(OUT / "skipped.csv")) == 0
    metrics = json.loads(Path("metrics/featurize.json").read_text())
    assert metrics == {"clips": 9, "skipped": 0, "tracks": 3, "steps": STEPS, "features": 44}
    assert "featurize: 9 clips of 3 tracks" in capsys.readouterr().out


def test_original_clips_get_the_tuning_librosa_would_estimate(project, one_blas_thread):
    """The track's tuning is estimated on its original clip, so originals match librosa's
    chroma_stft default; the variants reuse it (checked against expected_clip above)."""
    stage.main()
    summary = pd.read_parquet(OUT / "summary.parquet")
    originals = summary[summary["transform"] == "original"]
    assert len(originals) == 3
    for _, row in originals.iterrows():
        path = Path("data/raw") / row["genre"] / f"{row['track_id']}.wav"
        own = handcrafted.clip_features(
            audio.read(path, sample_rate=SR).samples,
            sample_rate=SR,
            duration_s=DURATION,
            params=FeaturizeParams(),
        )
        np.testing.assert_array_equal(row.iloc[4:].to_numpy(np.float32), own.summary)


def test_a_track_without_its_original_clip_still_uses_the_tracks_tuning(project, one_blas_thread):
    clips = manifest()
    clips = clips[clips["clip_id"] != "jazz.00000.orig"]
    clips.to_csv("data/augmented/manifest.csv", index=False)
    stage.main()
    summary = pd.read_parquet(OUT / "summary.parquet")
    assert summary["clip_id"].tolist() == clips["clip_id"].tolist()
    for i, row in enumerate(clips.to_dict("records")):
        np.testing.assert_array_equal(
            summary.iloc[i, 4:].to_numpy(np.float32), expected_clip(row).summary
        )


def test_unreadable_tracks_are_skipped_listed_and_printed(project, one_blas_thread, capsys):
    Path("data/raw/jazz/jazz.00000.wav").unlink()
    Path("data/raw/rock/rock.00000.wav").write_text("not audio")
    stage.main()
    clips = manifest()
    skipped = pd.read_csv(OUT / "skipped.csv")
    lost = clips[clips["track_id"] != "blues.00000"]
    assert skipped["clip_id"].tolist() == lost["clip_id"].tolist()
    reasons = dict(zip(skipped["track_id"], skipped["reason"], strict=False))
    assert "jazz.00000.wav: file not found" in reasons["jazz.00000"]
    assert "rock.00000.wav: not readable audio" in reasons["rock.00000"]
    summary = pd.read_parquet(OUT / "summary.parquet")
    assert summary["track_id"].tolist() == ["blues.00000"] * 3
    sequences = np.load(OUT / "sequences.npy")
    assert sequences.shape == (3, STEPS, 44)
    for i, row in enumerate(clips[clips["track_id"] == "blues.00000"].to_dict("records")):
        np.testing.assert_array_equal(sequences[i], expected_clip(row).sequence)
    metrics = json.loads(Path("metrics/featurize.json").read_text())
    assert (metrics["clips"], metrics["skipped"], metrics["tracks"]) == (3, 6, 1)
    err = capsys.readouterr().err
    assert "skipped jazz.00000.orig: " in err and "skipped rock.00000.orig: " in err


def test_no_output_when_every_clip_fails(project):
    for path in Path("data/raw").glob("*/*.wav"):
        path.unlink()
    with pytest.raises(GenreError, match="no clip could be featurized.*file not found"):
        stage.main()
    assert not OUT.exists() or not any(OUT.iterdir())
    assert not Path("metrics/featurize.json").exists()


def test_stale_manifest_is_refused(project):
    clips = manifest()
    clips.loc[0, "track_id"] = "blues.00099"
    clips.to_csv("data/augmented/manifest.csv", index=False)
    with pytest.raises(
        GenreError,
        match=r"data/augmented/manifest.csv does not match data/raw/index.csv .*blues.00099"
        r".*run `dvc repro augment`",
    ):
        stage.main()


def test_missing_inputs_and_bad_settings_name_the_fix(project, monkeypatch):
    for bad in ("0", "-1", "two"):
        monkeypatch.setenv("GENRE_N_JOBS", bad)
        with pytest.raises(GenreError, match=f"GENRE_N_JOBS='{bad}': must be a whole number"):
            stage.main()
    monkeypatch.setenv("GENRE_N_JOBS", "1")
    write_params(n_jobs=1)  # no longer a param: the process count is GENRE_N_JOBS
    with pytest.raises(GenreError, match="featurize.n_jobs is not a known key"):
        stage.main()
    write_params(window_s=5.0)
    with pytest.raises(GenreError, match=r"featurize.window_s \(5.0\) is longer"):
        stage.main()
    write_params()
    Path("data/augmented/manifest.csv").unlink()
    with pytest.raises(GenreError, match=r"manifest.csv is missing: run `dvc repro augment`"):
        stage.main()


def test_cli_prints_one_error_line(project):
    Path("data/raw/index.csv").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "genre.stages.featurize"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: data/raw/index.csv is missing: run `dvc repro download` first"
    ]


def test_bitwise_identical_between_runs_and_process_counts(project, monkeypatch):
    """Here the test process keeps its default BLAS threads: the stage must pin them itself."""
    outputs = []
    for n_jobs in ("1", "2", "1"):
        monkeypatch.setenv("GENRE_N_JOBS", n_jobs)
        stage.main()
        outputs.append([(OUT / name).read_bytes() for name in ("sequences.npy", "summary.parquet")])
    assert outputs[0] == outputs[1] == outputs[2]


def test_results_land_at_their_rows_whatever_order_they_finish(project, monkeypatch):
    """Out-of-order completion (as with many workers) must not reorder the output."""
    stage.main()
    reference = np.load(OUT / "sequences.npy")
    real = extraction.run_jobs

    def reversed_jobs(jobs, **kwargs):
        return reversed(list(real(jobs, **kwargs)))

    monkeypatch.setattr(extraction, "run_jobs", reversed_jobs)
    stage.main()
    np.testing.assert_array_equal(np.load(OUT / "sequences.npy"), reference)


def test_run_jobs_streams_every_track_once_with_a_bounded_queue(project, monkeypatch):
    """Tracks are taken lazily and at most 2 x n_jobs are dispatched and unfinished at any
    time (joblib's own counters, read at every dispatch), whatever the number of tracks."""
    index = pd.read_csv("data/raw/index.csv")
    jobs = extraction.track_jobs(index, manifest(), raw_dir=Path("data/raw")) * 4  # 12 tracks
    settings = FeatureSettings(SR, DURATION, FeaturizeParams())
    in_flight, pulled = [], []

    class Recording(extraction.Parallel):
        def _dispatch(self, batch):
            super()._dispatch(batch)
            in_flight.append(self.n_dispatched_tasks - self.n_completed_tasks)

    def lazily(jobs):
        for job in jobs:
            pulled.append(job)
            yield job

    serial = list(extraction.run_jobs(jobs, settings=settings, n_jobs=1))
    monkeypatch.setattr(extraction, "Parallel", Recording)
    parallel = []
    for results in extraction.run_jobs(lazily(jobs), settings=settings, n_jobs=2):
        parallel.append(results)
    assert len(parallel) == len(serial) == 12 == len(pulled) == len(in_flight)
    assert max(in_flight) == 4  # 2 x n_jobs: filled, never exceeded (one track per task)

    def key(results):
        return [(row, result.summary.tobytes()) for row, result in results]

    assert sorted(map(key, parallel)) == sorted(map(key, serial))


@pytest.mark.slow  # about 45 s on 2 cores: the workers start and import librosa
def test_a_dask_cluster_gives_the_local_runs_bytes(project, monkeypatch):
    """GENRE_DASK_SCHEDULER sends the same jobs to a Dask cluster (here a local one: 2 worker
    processes on 127.0.0.1); the outputs are the local run's, byte for byte."""
    from distributed import LocalCluster

    names = ("sequences.npy", "summary.parquet", "skipped.csv")
    stage.main()
    local = [(OUT / name).read_bytes() for name in names]
    for name in names:
        (OUT / name).unlink()
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        monkeypatch.setenv(extraction.DASK_ENV, cluster.scheduler_address)
        stage.main()
    assert [(OUT / name).read_bytes() for name in names] == local


def test_an_unreachable_dask_scheduler_is_one_clear_error(project, monkeypatch):
    monkeypatch.setattr(extraction, "DASK_TIMEOUT_S", 1)
    monkeypatch.setenv(extraction.DASK_ENV, "tcp://127.0.0.1:9")  # nothing listens there
    with pytest.raises(GenreError, match="GENRE_DASK_SCHEDULER=tcp://127.0.0.1:9: cannot reach"):
        stage.main()
    assert not OUT.exists() or not any(OUT.iterdir())
