"""Fault battery, `genre predict`: one bad file never sinks the batch (issue 10).

Each bad file gets its own `error: <file>: ...` line (and, with --json, an entry with its
"error"), every good file is still answered, in order, and the exit code is 1 when any failed.
Out-of-range, NaN/inf, silent and too-short audio are refused before feature extraction; an
unexpected exception inside one file's extraction becomes that file's error line.

Uses test_predict's tiny hand-weighted model set."""

import errno
import os

import numpy as np
import pytest
import soundfile as sf
from helpers import PARAMS_YAML, SR, build_models, noise, run_predict, write

from genre import audio
from genre.features import extraction


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """test_predict's project: params.yaml and its described hand-weighted models."""
    root = tmp_path_factory.mktemp("faults-project")
    (root / "params.yaml").write_text(PARAMS_YAML)
    build_models(root / "models")
    return root


def float_wav(path, samples):
    sf.write(path, np.asarray(samples, dtype=np.float32), SR, subtype="FLOAT")
    return path


def bad_inputs(folder):
    """name -> (file, what its error line says); each is refused before feature extraction."""
    loud = noise(4)
    nan, inf = noise(4), noise(4)
    nan[1000:1010] = np.nan
    inf[5000] = np.inf
    return {
        "huge": (float_wav(folder / "huge.wav", loud * 1e30), "beyond the format's range"),
        "nan": (float_wav(folder / "nan.wav", nan), "holds NaN or infinite samples"),
        "inf": (float_wav(folder / "inf.wav", inf), "holds NaN or infinite samples"),
        "quiet": (float_wav(folder / "quiet.wav", noise(4) * 1e-5), "is silent (peak -"),
        "short": (write(folder / "short.flac", noise(1.5), sr=SR), "only 1.5 s of audio"),
        "folder": (folder / "a_folder.wav", "is a folder, not an audio file"),
    }


def test_each_bad_file_gets_its_line_and_every_good_file_an_answer(capsys, project, tmp_path):
    (tmp_path / "a_folder.wav").mkdir()
    bad = bad_inputs(tmp_path)
    good = write(tmp_path / "good.wav", noise(4), sr=SR)
    stereo = write(tmp_path / "stereo8k.wav", noise(4, sr=8000), sr=8000, channels=2)
    files = [good, *(path for path, _ in bad.values()), stereo]
    code, out, err = run_predict(capsys, project, *files)
    assert code == 1
    assert [entry["file"] for entry in out] == list(map(str, files))
    assert "top" in out[0] and "top" in out[-1]  # wrong rate and stereo are fine
    assert len(err) == len(bad)
    for entry, line, (path, reason) in zip(out[1:-1], err, bad.values(), strict=True):
        assert line.startswith(f"error: {path}: ") and reason in line, line
        assert entry == {"file": str(path), "error": line.removeprefix("error: ")}
        assert "Traceback" not in line


def test_checks_come_before_feature_extraction(capsys, project, tmp_path, monkeypatch):
    calls = []
    real = extraction.song_features
    monkeypatch.setattr(
        extraction, "song_features", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    (tmp_path / "a_folder.wav").mkdir()
    files = [path for path, _ in bad_inputs(tmp_path).values()]
    code, out, err = run_predict(capsys, project, *files)
    assert code == 1 and len(err) == len(files) and calls == []


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (ZeroDivisionError("division by zero"), "feature extraction failed (ZeroDivisionError"),
        (RuntimeError("kernel died"), "could not be classified (RuntimeError: kernel died)"),
    ],
    ids=["arithmetic", "unexpected"],
)
def test_a_crash_inside_one_files_extraction_is_that_files_error(
    capsys, project, tmp_path, monkeypatch, exception, expected
):
    """The 7 s file makes the (patched) extraction raise; the files around it are answered."""
    real = extraction.song_features

    def fragile(samples, **kwargs):
        if len(samples) == 7 * SR:
            raise exception
        return real(samples, **kwargs)

    monkeypatch.setattr(extraction, "song_features", fragile)
    first, bomb, last = (
        write(tmp_path / f"{name}.wav", noise(s), sr=SR)
        for name, s in (("first", 4), ("bomb", 7), ("last", 5))
    )
    code, out, err = run_predict(capsys, project, first, bomb, last, json_out=False)
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [str(first), str(last)]
    assert len(err) == 1 and err[0].startswith(f"error: {bomb}: ") and expected in err[0]


def test_unreadable_file_says_permission(capsys, project, tmp_path, monkeypatch):
    """Simulated (chmod cannot stop root) at the open."""
    locked = write(tmp_path / "locked.wav", noise(4), sr=SR)
    good = write(tmp_path / "good.wav", noise(4), sr=SR)

    def denied(path, *args, **kwargs):
        if str(path).endswith("locked.wav"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(audio, "open", denied, raising=False)
    code, out, err = run_predict(capsys, project, locked, good)
    assert code == 1 and [entry.get("error") is None for entry in out] == [False, True]
    assert err == [f"error: {locked}: cannot be read (Permission denied): check its permissions"]


def test_non_utf8_file_name(capsys, project, tmp_path):
    """The name is shown with \\xNN: no UnicodeEncodeError (capsys writes strict UTF-8, as a
    terminal does)."""
    name = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.wav")
    with open(os.fsencode(name), "wb") as f:
        f.write((write(tmp_path / "x.wav", noise(4), sr=SR)).read_bytes())
    missing = os.fsdecode(os.fsencode(tmp_path) + b"/gone\xff.wav")
    code, out, err = run_predict(capsys, project, name, missing, json_out=False)
    assert code == 1
    assert out.startswith(f"{tmp_path}/caf\\xe9.wav: ")
    assert err == [f"error: {tmp_path}/gone\\xff.wav: file not found"]
