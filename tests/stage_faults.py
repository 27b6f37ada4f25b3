"""Helpers of the stage fault battery (tests/test_faults_*.py): a project folder, a stage's
main() run in-process under genre.errors.run_cli (what `python -m genre.stages.X` runs) or as a
subprocess, and checks that an error is ONE line and that nothing was lost.

Not a test module: tests import it as `from stage_faults import ...`."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from genre.errors import run_cli

SRC = Path(__file__).resolve().parents[1] / "src"
SR = 22050


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


def assert_raw_intact(root: Path, before: dict[str, bytes]) -> None:
    assert snapshot(root / "data" / "raw") == before
    assert hidden(root / "data") == []
