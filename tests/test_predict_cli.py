"""`genre predict`, what it prints: a JSON list or one line per file, one `error:` line per bad
file while the others are still answered (exit code 1), params.yaml and models/ of the working
folder by default, and the installed console script doing the same."""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    PARAMS_YAML,
    SR,
    distribution,
    genre_command,
    noise,
    run_predict,
    tone,
    write,
)

from genre import GENRES
from genre.app import cli
from genre.app.predict import MIN_SECONDS, Prediction, format_line

# --- output ---------------------------------------------------------------------------------


def test_json_output_shape(capsys, known_project, tmp_path):
    a = write(tmp_path / "a.wav", noise(5))
    b = write(tmp_path / "b.ogg", tone(25))
    code, out, _ = run_predict(capsys, known_project, a, b, model="ensemble")
    assert code == 0
    assert [r["file"] for r in out] == [str(a), str(b)]
    assert [r["windows"] for r in out] == [1, 3]  # 25 s: 10 + 10 + 5 (half a window, kept)
    for result in out:
        assert set(result) == {"file", "top", "windows"}
        assert len(result["top"]) == 3
        assert all(set(t) == {"genre", "probability"} for t in result["top"])
        assert all(t["genre"] in GENRES for t in result["top"])
        probabilities = [t["probability"] for t in result["top"]]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1


def test_text_output_is_one_line_per_file(capsys, known_project, tmp_path):
    song = write(tmp_path / "song.wav", tone(30))
    code, out, _ = run_predict(capsys, known_project, song, json_out=False)
    assert code == 0
    assert out.splitlines() == [f"{song}: classical 100.0%, blues 0.0%, country 0.0% (3 windows)"]
    line = Prediction(str(song), distribution({"rock": 0.621, "metal": 0.21})[None], GENRES)
    assert format_line(line) == f"{song}: rock 62.1%, metal 21.0%, blues 2.1% (1 window)"


# --- bad input: one line each, the other files still predicted ------------------------------


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what its error line must say)."""
    folder.mkdir(exist_ok=True)
    text = folder / "notes.wav"
    text.write_text("not audio at all\n" * 50)
    good = write(folder / "good.flac", noise(4))
    truncated = folder / "truncated.flac"
    truncated.write_bytes(good.read_bytes()[:200])
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    return {
        "missing": (folder / "missing.mp3", "file not found"),
        "not audio": (text, "not readable audio"),
        "unreadable": (truncated, "not readable audio"),
        "empty": (empty, "not readable audio"),
        "too short": (
            write(folder / "short.wav", tone(2.0)),
            f"only 2.0 s of audio; at least {MIN_SECONDS:g} s are needed",
        ),
        "silent": (write(folder / "silent.ogg", np.zeros(5 * SR)), "is silent"),
    }


def test_bad_files_get_one_error_line_each_and_the_rest_are_predicted(
    capsys, known_project, tmp_path
):
    bad = bad_files(tmp_path)
    good = tmp_path / "good.flac"
    files = [good, *(path for path, _ in bad.values()), good]
    code, out, err = run_predict(capsys, known_project, *files)
    assert code == 1
    assert [r["file"] for r in out] == list(map(str, files))  # every file answered, in order
    assert [("top" in r, "error" in r) for r in out] == [(True, False)] + [(False, True)] * len(
        bad
    ) + [(True, False)]
    assert [r["error"] for r in out[1:-1]] == [line.removeprefix("error: ") for line in err]
    assert len(err) == len(bad)
    for line, (path, reason) in zip(err, bad.values(), strict=True):
        assert line.startswith(f"error: {path}: ") and reason in line


# --- defaults: the working folder's models/ -------------------------------------------------


def test_predict_reads_the_working_folders_models_and_reports_errors_on_one_line(
    capsys, known_project, tmp_path, monkeypatch
):
    """Run from the project folder with no --models-dir: params.yaml and models/ there are the
    defaults (in this process; the console script's own run of it is slow)."""
    song = write(tmp_path / "song.mp3", noise(8, sr=44100), sr=44100, channels=2)
    monkeypatch.chdir(known_project)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["predict", str(song), str(tmp_path / "missing.wav")])
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{song}: metal 50.6%, rock 17.8%, jazz 15.3% (1 window)"]
    assert err.splitlines() == [f"error: {tmp_path / 'missing.wav'}: file not found"]


# --- the installed console command ----------------------------------------------------------


def run_console(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(genre_command()), "predict", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # a fresh process: 10 s of TensorFlow start-up and model loading
def test_console_command_predicts_and_reports_errors_on_one_line(known_project, tmp_path):
    """Run from the project folder: params.yaml and models/ are the defaults."""
    song = write(tmp_path / "song.mp3", noise(8, sr=44100), sr=44100, channels=2)
    result = run_console(str(song), str(tmp_path / "missing.wav"), cwd=known_project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{song}: metal 50.6%, rock 17.8%, jazz 15.3% (1 window)"]
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'missing.wav'}: file not found"]


def test_console_command_without_models(tmp_path):
    (tmp_path / "params.yaml").write_text(PARAMS_YAML)
    song = write(tmp_path / "song.wav", noise(5))
    result = run_console(str(song), cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no trained ensemble {Path('models') / 'ensemble.json'} yet: run `dvc repro` first"
    ]
