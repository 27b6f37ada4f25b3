"""Fault battery, operating-system errors at the outputs (a file in the way, no permission, a full
or read-only disk): ONE line naming the path and what to do, the earlier outputs intact."""

import contextlib
import errno
import os
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pytest
from stage_faults import (
    assert_raw_intact,
    hidden,
    local_params,
    music_folder,
    one_error,
    project,
    run_module,
    snapshot,
    stage,
)

from genre import files

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
