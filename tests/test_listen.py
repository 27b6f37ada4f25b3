"""`genre listen`: augmented clips rendered to WAV, exactly as featurize sees them."""

import argparse

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genre.app import listen
from genre.audio import write_wav
from genre.errors import run_cli
from genre.features.augment import apply, build_manifest
from genre.files import write_csv
from genre.params import AugmentParams

SR = 8000


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with two 2 s tracks in data/raw and their manifest (factor 4)."""
    (tmp_path / "params.yaml").write_text(f"data: {{sample_rate: {SR}}}\n")
    rows = []
    for i, genre in enumerate(["blues", "jazz"]):
        track_id = f"{genre}.00000"
        path = f"{genre}/{track_id}.wav"
        (tmp_path / "data/raw" / genre).mkdir(parents=True)
        t = np.arange(2 * SR) / SR
        write_wav(
            tmp_path / "data/raw" / path,
            0.3 * np.sin(2 * np.pi * (220 + 110 * i) * t),
            sample_rate=SR,
        )
        rows.append((track_id, genre, path))
    index = pd.DataFrame(rows, columns=["track_id", "genre", "path"])
    write_csv(index, tmp_path / "data/raw/index.csv")
    manifest = build_manifest(index, params=AugmentParams(factor=4.0))
    write_csv(manifest, tmp_path / "data/augmented/manifest.csv")
    monkeypatch.chdir(tmp_path)
    return manifest


def run(*argv: str) -> None:
    parser = argparse.ArgumentParser()
    listen.add_arguments(parser)
    args = parser.parse_args(list(argv))
    run_cli(lambda: listen.run(args))


def test_writes_the_clip_as_apply_renders_it(project, tmp_path, capsys):
    run("jazz.00000.noise1", "blues.00000.shift1", "--out", "out")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("out/jazz.00000.noise1.wav  white noise at ")
    assert out[1].startswith("out/blues.00000.shift1.wav  circular shift by ")
    written, rate = sf.read(tmp_path / "out/jazz.00000.noise1.wav", dtype="float32")
    assert rate == SR
    source, _ = sf.read(tmp_path / "data/raw/jazz/jazz.00000.wav", dtype="float32")
    row = project.set_index("clip_id").loc["jazz.00000.noise1"]
    expected = apply(source, row, sample_rate=SR)
    assert written.shape == source.shape
    np.testing.assert_allclose(written, expected, atol=1.5 / 32768)  # 16-bit rounding
    assert np.abs(written - source).max() > 0.01  # the noise is really there


def test_random_picks_augmented_clips_only(project, tmp_path):
    run("--random", "3", "--seed", "1", "--out", "picked")
    names = sorted(p.stem for p in (tmp_path / "picked").iterdir())
    assert len(names) == 3
    assert set(names) <= set(project["clip_id"]) and not any(n.endswith(".orig") for n in names)


def test_unknown_clip_id_is_one_error_line(project, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run("blues.00000.noise9", "--out", "out")
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        "error: unknown clip id 'blues.00000.noise9': clip ids are listed "
        "in data/augmented/manifest.csv"
    )
    assert not (tmp_path / "out").exists()


def test_needs_clip_ids_or_random(project, capsys):
    with pytest.raises(SystemExit):
        run()
    assert "name clip ids" in capsys.readouterr().err


def test_needs_the_manifest(tmp_path, monkeypatch, capsys):
    (tmp_path / "params.yaml").write_text("data: {}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        run("blues.00000.noise1")
    assert "manifest.csv is missing: run `dvc repro augment`" in capsys.readouterr().err
