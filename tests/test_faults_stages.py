"""Fault battery, stages: bad params, bad data folders, bad intermediate files and failing
file systems, each answered by ONE line (`error: ...`, no traceback), a non-zero exit code,
the earlier outputs intact and no temporary file left (issue 10).

Most cases run a stage's main() in-process under genre.errors.run_cli, exactly what
`python -m genre.stages.X` runs, in a temporary project folder; the ones where the terminal
matters (non-UTF-8 names, a real full or read-only disk) run the stage as a subprocess."""

import contextlib
import errno
import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genre import files
from genre.errors import run_cli

SRC = Path(__file__).resolve().parents[1] / "src"
SR = 22050


# --- helpers --------------------------------------------------------------------------------


def clip(
    path: Path,
    *,
    seconds=3.0,
    amplitude=0.3,
    sr=SR,
    channels=1,
    subtype="PCM_16",
    hz=330.0,
    fmt=None,
) -> Path:
    """A short tone with a little noise: decodes fine and looks like ordinary audio."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    y = amplitude * (np.sin(2 * np.pi * hz * t) + 0.03 * rng.standard_normal(len(t)))
    data = np.repeat(y[:, None], channels, axis=1) if channels > 1 else y
    sf.write(path, data, sr, subtype=subtype, format=fmt)
    return path


def music_folder(root: Path, genres=("blues", "rock", "jazz"), per_genre=2) -> Path:
    for genre in genres:
        for n in range(per_genre):
            clip(root / genre / f"{genre}.{n:05d}.wav", hz=200 + 50 * n)
    return root


def project(tmp_path: Path, params: str) -> Path:
    (tmp_path / "params.yaml").write_text(params)
    return tmp_path


def local_params(path) -> str:
    return f"data:\n  source: local\n  local_path: {path}\n  duration_s: 3\n"


def stage(name: str, cwd: Path, monkeypatch, capsys, argv=()) -> tuple[int, str, list[str]]:
    """Run stage `name` as `python -m genre.stages.<name>` would, in-process, from cwd:
    (exit code, stdout, stderr lines)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [name, *argv])
    module = importlib.import_module(f"genre.stages.{name}")
    try:
        run_cli(module.main)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()


def run_module(name: str, cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("DVC_STAGE", None)
    return subprocess.run(
        [sys.executable, "-m", f"genre.stages.{name}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def one_error(code: int, err: list[str], *parts: str) -> str:
    """The run failed with exit code 1 and exactly one `error:` line holding every part."""
    assert code == 1, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    for part in parts:
        assert part in err[0], (part, err[0])
    return err[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder (hidden ones too), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def hidden(folder: Path) -> list[str]:
    """Temporaries (hidden names) anywhere under folder."""
    return sorted(p.name for p in folder.rglob(".*"))


@pytest.fixture
def downloaded(tmp_path, monkeypatch, capsys) -> Path:
    """A project whose last good download imported music/ (3 genres x 2 clips)."""
    music_folder(tmp_path / "music")
    project(tmp_path, local_params("music"))
    code, _, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0, err
    return tmp_path


def assert_raw_intact(root: Path, before: dict[str, bytes]) -> None:
    assert snapshot(root / "data" / "raw") == before
    assert hidden(root / "data") == []


# --- params ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (local_params(2024), "params.yaml: data.local_path must be a folder path (text), got 2024"),
        (
            "data:\n  source: local\n  local_path: [a, b]\n",
            "params.yaml: data.local_path must be a folder path (text), got ['a', 'b']",
        ),
        ("data:\n  clips_per_genre: '5'\n", "params.yaml: data.clips_per_genre must be a number"),
        ("data:\n  sample_rate: 22050.5\n", "data.sample_rate must be a whole number"),
        ("data:\n  source: true\n", "data.source must be one of"),
        ("data: 5\n", "params.yaml: data must be a mapping of keys, got 5"),
        ("data:\n  1: x\n", "params.yaml: data.1 is not a known key"),
        ("data:\n  sources: local\n", "params.yaml: data.sources is not a known key"),
        ("data: [unclosed\n", "params.yaml is not valid YAML"),
        ("- a\n- b\n", "params.yaml must hold a mapping of sections"),
    ],
    ids=[
        "number-path",
        "list-path",
        "text-number",
        "fractional-int",
        "bool-choice",
        "section-not-mapping",
        "numeric-key",
        "misspelt-key",
        "broken-yaml",
        "list-file",
    ],
)
def test_bad_params_are_one_line_naming_the_key(downloaded, monkeypatch, capsys, params, expected):
    before = snapshot(downloaded / "data" / "raw")
    project(downloaded, params)
    code, out, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(code, err, expected)
    assert_raw_intact(downloaded, before)


def test_missing_and_non_utf8_params_file(tmp_path, monkeypatch, capsys):
    code, _, err = stage("augment", tmp_path, monkeypatch, capsys)
    one_error(code, err, "params.yaml not found: run from the project folder")
    (tmp_path / "params.yaml").write_bytes(b"data:\n  source: \xff\xfe\n")
    code, _, err = stage("augment", tmp_path, monkeypatch, capsys)
    one_error(code, err, "params.yaml is not UTF-8 text")


def test_unreadable_params_file_names_it(tmp_path, monkeypatch, capsys):
    """chmod cannot stop root, so the operating system's refusal is simulated at the read."""
    project(tmp_path, "augment:\n  factor: 2\n")
    real = Path.read_text

    def denied(self, *args, **kwargs):
        if self.name == "params.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)
    code, _, err = stage("augment", tmp_path, monkeypatch, capsys)
    one_error(code, err, "params.yaml: Permission denied: check its permissions")


# --- data folders (download, source local) --------------------------------------------------


@pytest.mark.parametrize(
    ("local_path", "files", "expected"),
    [
        ("nowhere", {}, "nowhere: folder not found; data.local_path must name a folder"),
        ("notes.txt", {"notes.txt": "x"}, "notes.txt: is a file, not a folder"),
        ("empty", {"empty/blues/readme.txt": "no audio here"}, "empty: no audio clips found"),
    ],
    ids=["missing", "a-file", "no-clips"],
)
def test_local_path_without_clips(downloaded, monkeypatch, capsys, local_path, files, expected):
    before = snapshot(downloaded / "data" / "raw")
    for name, text in files.items():
        (downloaded / name).parent.mkdir(parents=True, exist_ok=True)
        (downloaded / name).write_text(text)
    project(downloaded, local_params(local_path))
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(code, err, expected)
    assert_raw_intact(downloaded, before)


def test_every_clip_unreadable(downloaded, monkeypatch, capsys):
    before = snapshot(downloaded / "data" / "raw")
    for genre in ("blues", "rock"):
        (downloaded / "junk" / genre).mkdir(parents=True)
        (downloaded / "junk" / genre / f"{genre}.00000.wav").write_bytes(b"RIFF" + b"\0" * 40)
    project(downloaded, local_params("junk"))
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    line = one_error(code, err, "no readable clips from local folder junk: all 2 files")
    assert "left unchanged" not in line  # under dvc repro it would not be
    assert_raw_intact(downloaded, before)


def test_unreadable_genre_folder_is_refused_not_dropped(downloaded, monkeypatch, capsys):
    """No read permission on music/rock (simulated: chmod cannot stop root): refused, naming
    the folder, rather than a data set with one genre fewer."""
    before = snapshot(downloaded / "data" / "raw")
    real = os.scandir

    def scandir(path="."):
        if isinstance(path, str | os.PathLike) and Path(path).name == "rock":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(code, err, "music/rock: cannot read this folder (Permission denied)", "chmod")
    monkeypatch.setattr(os, "scandir", real)
    assert_raw_intact(downloaded, before)


def test_bad_clips_are_skipped_and_listed_the_rest_imported(tmp_path, monkeypatch, capsys):
    """Corrupt, empty, non-audio, NaN and 1e30 float clips beside good ones are skipped; a
    truncated one that still decodes is kept and listed as suspicious."""
    music = music_folder(tmp_path / "music")
    (music / "blues" / "blues.00010.wav").write_bytes(b"")
    (music / "blues" / "blues.00011.wav").write_text("this is a text file, not audio\n" * 20)
    good = (music / "rock" / "rock.00000.wav").read_bytes()
    (music / "rock" / "rock.00012.wav").write_bytes(good[:100])
    nan = np.full(SR * 3, np.nan, dtype=np.float32)
    sf.write(music / "jazz" / "jazz.00013.wav", nan, SR, subtype="FLOAT")
    huge = np.full(SR * 3, 1e30, dtype=np.float32)
    sf.write(music / "jazz" / "jazz.00014.wav", huge, SR, subtype="FLOAT")
    project(tmp_path, local_params("music"))
    code, out, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0 and err == [], err
    skipped = pd.read_csv(tmp_path / "data/raw/skipped.csv")
    reasons = dict(zip(skipped["path"], skipped["reason"], strict=True))
    assert sorted(reasons) == [
        "blues/blues.00010.wav",
        "blues/blues.00011.wav",
        "jazz/jazz.00013.wav",
        "jazz/jazz.00014.wav",
    ]
    assert "not readable audio" in reasons["blues/blues.00010.wav"]
    assert "not readable audio" in reasons["blues/blues.00011.wav"]
    assert "NaN or infinite samples" in reasons["jazz/jazz.00013.wav"]
    assert "beyond the format's range" in reasons["jazz/jazz.00014.wav"]
    assert "skipped 4 files" in out
    index = pd.read_csv(tmp_path / "data/raw/index.csv")
    assert len(index) == 7
    suspicious = pd.read_csv(tmp_path / "data/raw/suspicious.csv")
    assert suspicious["track_id"].tolist() == ["rock.00012"]
    assert "far from the set's median 3 s" in suspicious["reason"][0]


def test_other_formats_rates_channels_and_kaggle_nesting(tmp_path, monkeypatch, capsys):
    """FLAC, OGG, MP3, AU and WAV; 44.1 kHz stereo; under genres_original/<genre>/."""
    root = tmp_path / "Data" / "genres_original"
    clip(root / "blues" / "blues.00000.flac", fmt="FLAC")
    clip(root / "blues" / "blues.00001.ogg", fmt="OGG", subtype="VORBIS")
    clip(root / "rock" / "rock.00000.mp3", fmt="MP3", subtype="MPEG_LAYER_III")
    clip(root / "rock" / "rock.00001.au", fmt="AU")
    clip(root / "rock" / "rock.00002.wav", sr=44100, channels=2)
    project(tmp_path, local_params("Data"))
    code, out, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0, err
    index = pd.read_csv(tmp_path / "data/raw/index.csv", keep_default_na=False)
    assert sorted(index["track_id"]) == [
        "blues.00000",
        "blues.00001",
        "rock.00000",
        "rock.00001",
        "rock.00002",
    ]
    notes = dict(zip(index["track_id"], index["note"], strict=True))
    assert notes["rock.00002"] == "down-mixed from 2 channels; resampled from 44100 Hz"


def test_non_utf8_file_name_is_listed_not_a_crash(tmp_path):
    """Run as a subprocess: printing such a name is where a UnicodeEncodeError would come."""
    music = music_folder(tmp_path / "music")
    bad = os.fsencode(music / "rock") + b"/rock.0000\xff.wav"
    with open(bad, "wb") as f:
        f.write((music / "rock" / "rock.00000.wav").read_bytes())
    bad_folder = os.fsencode(music) + b"/caf\xe9"
    os.mkdir(bad_folder)
    with open(bad_folder + b"/jazz.00009.wav", "wb") as f:
        f.write((music / "jazz" / "jazz.00000.wav").read_bytes())
    project(tmp_path, local_params("music"))
    result = run_module("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "rock/rock.0000\\xff.wav: file or folder name is not valid UTF-8" in result.stdout
    assert "caf\\xe9/jazz.00009.wav: file or folder name is not valid UTF-8" in result.stdout
    skipped = pd.read_csv(tmp_path / "data/raw/skipped.csv")
    assert len(skipped) == 2


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ({"blues": 4}, "only 1 genre (blues) in 4 clips"),
        ({"blues": 3, "rock": 1}, "genre rock has only 1 track"),
    ],
    ids=["one-genre", "lonely-genre"],
)
def test_data_set_that_cannot_be_split_is_refused(
    downloaded, monkeypatch, capsys, layout, expected
):
    before = snapshot(downloaded / "data" / "raw")
    for genre, n in layout.items():
        for i in range(n):
            clip(downloaded / "small" / genre / f"{genre}.{i:05d}.wav")
    project(downloaded, local_params("small"))
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    line = one_error(code, err, expected)
    assert "data.local_path" in line or "split.test_size" in line
    assert_raw_intact(downloaded, before)


def test_synthetic_with_one_clip_per_genre_names_the_param(tmp_path, monkeypatch, capsys):
    project(tmp_path, "data:\n  clips_per_genre: 1\n  duration_s: 1\n")
    code, _, err = stage("download", tmp_path, monkeypatch, capsys)
    one_error(code, err, "has only 1 track", "raise data.clips_per_genre")
    assert not (tmp_path / "data" / "raw").exists() and hidden(tmp_path) == []


def test_suspicious_clips_are_kept_and_listed(tmp_path, monkeypatch, capsys):
    music = music_folder(tmp_path / "music")
    clip(music / "rock" / "rock.00005.wav", amplitude=3.0)  # clipped at full scale
    clip(music / "blues" / "blues.00005.wav", amplitude=1e-5)  # -100 dB: silence
    clip(music / "jazz" / "jazz.00005.wav", seconds=0.8)  # far shorter than the others
    project(tmp_path, local_params("music"))
    code, out, err = stage("download", tmp_path, monkeypatch, capsys)
    assert code == 0, err
    suspicious = pd.read_csv(tmp_path / "data/raw/suspicious.csv")
    reasons = dict(zip(suspicious["track_id"], suspicious["reason"], strict=True))
    assert sorted(reasons) == ["blues.00005", "jazz.00005", "rock.00005"]
    assert reasons["rock.00005"].startswith("clipped: ")
    assert "silent" in reasons["blues.00005"]
    assert reasons["jazz.00005"] == "0.8 s long, far from the set's median 3 s"
    assert "suspicious 3 clips, kept (listed in data/raw/suspicious.csv)" in out
    index = pd.read_csv(tmp_path / "data/raw/index.csv")
    assert len(index) == 9 and list(index.columns) == [
        "track_id",
        "genre",
        "path",
        "seconds",
        "sample_rate",
        "md5",
        "note",
    ]


# --- operating-system errors at the outputs -------------------------------------------------


def test_output_folder_is_a_file(tmp_path, monkeypatch, capsys):
    music_folder(tmp_path / "music")
    project(tmp_path, local_params("music"))
    (tmp_path / "data").write_text("a file where the data folder belongs")
    code, _, err = stage("download", tmp_path, monkeypatch, capsys)
    one_error(code, err, "error: data: is a file where a folder belongs", "move or remove it")
    (tmp_path / "data").unlink()
    (tmp_path / "data" / "raw").parent.mkdir()
    (tmp_path / "data" / "raw").write_text("x")
    code, _, err = stage("download", tmp_path, monkeypatch, capsys)
    one_error(code, err, "error: data/raw: is a file where an output folder belongs")
    assert (tmp_path / "data" / "raw").read_text() == "x"


def test_output_file_is_a_folder(downloaded, monkeypatch, capsys):
    project(downloaded, "augment:\n  factor: 2\n")
    (downloaded / "data" / "augmented" / "manifest.csv").mkdir(parents=True)
    code, _, err = stage("augment", downloaded, monkeypatch, capsys)
    one_error(code, err, "data/augmented/manifest.csv: is a folder where an output file belongs")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (errno.EACCES, "data: Permission denied: check its permissions"),
        (errno.EROFS, "data: Read-only file system: the file system is read-only"),
    ],
    ids=["permission-denied", "read-only"],
)
def test_output_folder_not_writable(downloaded, monkeypatch, capsys, error, expected):
    """Simulated at the temporary folder's creation (root ignores permissions)."""
    before = snapshot(downloaded / "data" / "raw")

    def refuse(*args, **kwargs):
        raise OSError(error, os.strerror(error), str(Path(kwargs["dir"]) / ".raw.x"))

    monkeypatch.setattr(files.tempfile, "mkdtemp", refuse)
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(code, err, expected)
    assert_raw_intact(downloaded, before)


def test_disk_full_while_writing_clips_mocked(downloaded, monkeypatch, capsys):
    before = snapshot(downloaded / "data" / "raw")
    real = Path.write_bytes

    def full(self, data):
        if self.suffix == ".wav" and "rock" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    code, _, err = stage("download", downloaded, monkeypatch, capsys)
    one_error(
        code, err, "error: data/raw/rock/rock.00000.wav: No space left on device: the disk is full"
    )
    assert_raw_intact(downloaded, before)


def test_disk_full_while_writing_a_table_mocked(downloaded, monkeypatch, capsys):
    """pandas' own write fails (no file name in the error): the line names the output."""
    project(downloaded, "augment:\n  factor: 2\n")

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    code, _, err = stage("augment", downloaded, monkeypatch, capsys)
    one_error(code, err, "error: data/augmented/manifest.csv: No space left on device")
    assert hidden(downloaded / "data") == []


@contextlib.contextmanager
def tmpfs(folder: Path, options: str):
    """A real tiny (or read-only) file system at folder; skip where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, f"genre-test-{uuid.uuid4().hex[:8]}", folder],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the mocked cases cover this")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", folder], capture_output=True)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("size=100k", "No space left on device: the disk is full"),
        ("size=1m,ro", "data: Read-only file system"),
    ],
    ids=["disk-full", "read-only"],
)
def test_real_full_or_read_only_disk(tmp_path, options, expected):
    music_folder(tmp_path / "music")
    project(tmp_path, local_params("music"))
    with tmpfs(tmp_path / "data", options):
        result = run_module("download", tmp_path)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
        assert "Traceback" not in result.stderr
        assert list((tmp_path / "data").iterdir()) == []  # nothing half-written left


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
