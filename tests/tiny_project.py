"""A tiny copy of the project for end-to-end tests: its code, pipeline and params (with small
overrides) in a fresh git + DVC repository, and commands run there with the test venv's tools.

Not a test module (no `test_` prefix); tests/ is on sys.path under pytest, so tests import it
with `from tiny_project import ...`.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml
from helpers import BIN, ROOT


def command_env(*, drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """This process's environment, without the `drop` names, with the venv's tools first on
    PATH, DVC's analytics and TensorFlow's notices off, a git identity, then `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in drop}
    return {
        **env,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        **extra,
    }


def completed(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command in `cwd` (environment: `command_env()` unless given); with `check`, fail
    the test with its output unless it succeeds. Its output goes through files, not pipes: the
    queue workers `dvc queue start` leaves running would hold a pipe open until they exit."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        result = subprocess.run(
            args,
            cwd=cwd,
            env=command_env() if env is None else env,
            stdout=out,
            stderr=err,
            timeout=timeout,
        )
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(args, result.returncode, out.read(), err.read())
    if check:
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result


def run(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> str:
    """Run a command as `completed` does; its output, stdout then stderr."""
    result = completed(cwd, *args, env=env, check=check, timeout=timeout)
    return result.stdout + result.stderr


def stages_run(output: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` output says it ran."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def set_params(repo: Path, **sections: dict) -> None:
    """Update sections of repo's params.yaml, e.g. `set_params(repo, model={"units": 8})`."""
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in sections.items():
        params[section].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def make_project(
    path: Path,
    *,
    tiny: dict[str, dict],
    files: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    message: str = "tiny project",
) -> Path:
    """A git + DVC repository at `path` holding the project's code (src/ plus `files`, e.g.
    {"src/sitecustomize.py": text}), dvc.yaml, plot templates and params.yaml with the `tiny`
    sections' overrides, all committed (dvclive needs a commit). Commands run with `env`."""
    path.mkdir(parents=True)
    shutil.copytree(
        ROOT / "src", path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name, text in (files or {}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    shutil.copy(ROOT / "dvc.yaml", path)
    shutil.copy(ROOT / "params.yaml", path)
    set_params(path, **tiny)
    run(path, "git", "init", "-q", env=env)
    run(path, "dvc", "init", "-q", env=env)
    shutil.copytree(ROOT / ".dvc/plots", path / ".dvc/plots")  # the custom plot templates
    run(path, "git", "add", "-A", env=env)
    run(path, "git", "commit", "-qm", message, env=env)
    return path
