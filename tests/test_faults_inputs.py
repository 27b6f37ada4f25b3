"""Fault battery, the later stages' input files (index, manifest, summary, predictions) missing,
corrupt or stale: ONE line naming the file and the `dvc repro` that remakes it."""

from pathlib import Path

import pandas as pd
import pytest
from stage_faults import (
    hidden,
    local_params,
    one_error,
    project,
    stage,
)

# --- intermediate files of the later stages -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "data/raw/index.csv is missing: run `dvc repro download` first"),
        (b"\x00\xff\xfe garbage \x89PNG", "data/raw/index.csv is unreadable"),
        (b"track_id,path\nblues.00000,x.wav\n", "lacks columns ['genre']: it is stale"),
    ],
    ids=["missing", "garbage", "stale"],
)
def test_augment_with_a_bad_index(tmp_path, monkeypatch, capsys, content, expected):
    project(tmp_path, "augment:\n  factor: 2\n")
    if content is not None:
        (tmp_path / "data" / "raw").mkdir(parents=True)
        (tmp_path / "data" / "raw" / "index.csv").write_bytes(content)
    code, _, err = stage("augment", tmp_path, monkeypatch, capsys)
    one_error(code, err, expected)
    assert not (tmp_path / "data" / "augmented").exists()


def write_summary(root: Path, per_genre: dict[str, int]) -> None:
    rows = [
        {
            "clip_id": f"{g}.{i:05d}.original",
            "track_id": f"{g}.{i:05d}",
            "genre": g,
            "transform": "original",
        }
        for g, n in per_genre.items()
        for i in range(n)
    ]
    (root / "data" / "features").mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / "data" / "features" / "summary.parquet")


@pytest.mark.parametrize(
    ("per_genre", "params", "expected"),
    [
        (
            {"blues": 2, "rock": 2, "jazz": 2},
            "split:\n  test_size: 0.1\n",
            "split.test_size 0.1 gives 1 test tracks for 3 genres (at least one each): raise "
            "split.test_size to at least 0.5",
        ),
        (
            {"blues": 5, "rock": 1},
            "split:\n  test_size: 0.5\n",
            "genre rock has only 1 of the 6 tracks",
        ),
        (
            {"blues": 3, "rock": 3},
            "split:\n  test_size: 0.9\n",
            "split.test_size 0.9 leaves 0 training tracks for 2 genres: lower split.test_size",
        ),
        (
            {"blues": 20, "rock": 3},
            "split:\n  test_size: 0.1\n",
            "genre rock gets none of its 3 tracks in the test set",
        ),
    ],
    ids=["test-size-too-small", "lonely-genre", "test-size-too-big", "genre-without-test"],
)
def test_too_small_configuration_names_the_param(
    tmp_path, monkeypatch, capsys, per_genre, params, expected
):
    write_summary(tmp_path, per_genre)
    project(tmp_path, params)
    code, _, err = stage("split", tmp_path, monkeypatch, capsys)
    line = one_error(code, err, expected)
    assert "split.test_size" in line or "clips per genre" in line
    assert not (tmp_path / "data" / "split").exists()


def test_split_with_a_corrupt_summary(tmp_path, monkeypatch, capsys):
    (tmp_path / "data" / "features").mkdir(parents=True)
    (tmp_path / "data" / "features" / "summary.parquet").write_bytes(b"PAR1 not really")
    project(tmp_path, "split:\n  strategy: track\n")
    code, _, err = stage("split", tmp_path, monkeypatch, capsys)
    one_error(code, err, "data/features/summary.parquet is unreadable", "dvc repro featurize")


def test_featurize_without_a_manifest(downloaded, monkeypatch, capsys):
    code, _, err = stage("featurize", downloaded, monkeypatch, capsys)
    one_error(code, err, "data/augmented/manifest.csv is missing: run `dvc repro augment`")


@pytest.mark.parametrize("content", [None, b"not parquet"], ids=["missing", "corrupt"])
def test_ensemble_and_evaluate_with_bad_predictions(tmp_path, monkeypatch, capsys, content):
    project(tmp_path, "ensemble:\n  weights: {mlp: 1, rnn: 1, lstm: 1, bilstm: 1}\n")
    if content is not None:
        (tmp_path / "data" / "predictions").mkdir(parents=True)
        for model in ("mlp", "rnn", "lstm", "bilstm", "ensemble", "baseline"):
            (tmp_path / "data" / "predictions" / f"{model}.parquet").write_bytes(content)
    code, _, err = stage("ensemble", tmp_path, monkeypatch, capsys)
    one_error(code, err, "mlp", "dvc repro")
    code, _, err = stage("evaluate", tmp_path, monkeypatch, capsys)
    one_error(code, err, "data/predictions/", "dvc repro")
    assert not (tmp_path / "metrics").exists() and not (tmp_path / "models").exists()


def test_train_with_an_unknown_architecture(tmp_path, monkeypatch, capsys):
    project(tmp_path, "train:\n  epochs: 1\n")
    code, _, err = stage("train", tmp_path, monkeypatch, capsys, argv=["gru"])
    one_error(code, err, "usage: python -m genre.stages.train ARCH", "(got gru)")


def test_featurize_skips_a_corrupt_track_and_keeps_the_rest(downloaded, monkeypatch, capsys):
    """A data/raw clip damaged after download: its clips are listed as skipped, not fatal."""
    monkeypatch.setenv("GENRE_N_JOBS", "1")
    project(downloaded, local_params("music") + "augment:\n  factor: 1\n")
    code, _, err = stage("augment", downloaded, monkeypatch, capsys)
    assert code == 0, err
    (downloaded / "data/raw/rock/rock.00001.wav").write_bytes(b"RIFF damaged")
    code, out, err = stage("featurize", downloaded, monkeypatch, capsys)
    assert code == 0, err
    assert "Traceback" not in out + "".join(err)
    skipped = pd.read_csv(downloaded / "data/features/skipped.csv")
    assert skipped["track_id"].tolist() == ["rock.00001"]
    summary = pd.read_parquet(downloaded / "data/features/summary.parquet")
    assert len(summary) == 5 and "rock.00001" not in set(summary["track_id"])
    assert hidden(downloaded / "data") == []


def test_genre_command_faults(tmp_path, monkeypatch, capsys):
    """`genre listen` without the pipeline's outputs, `genre predict` without models."""
    from genre.app import cli

    monkeypatch.chdir(project(tmp_path, "data:\n  duration_s: 3\n"))
    for argv, expected in [
        (["listen", "blues.00000.noise1"], "data/augmented/manifest.csv is missing"),
        (["predict", "song.wav"], "run `dvc repro` first"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        one_error(exit_.value.code, capsys.readouterr().err.strip().splitlines(), expected)
