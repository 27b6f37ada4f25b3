"""Fault battery, failures of the run itself: operating-system errors and bugs turned into one
line, Ctrl-C / SIGTERM stopping cleanly, SIGKILL's litter swept by the next run, and (slow) a
failed `dvc repro` whose message names the command that brings the last good outputs back."""

import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tiny_project import command_env, completed  # tests/ is on sys.path under pytest

from genre import errors, files
from genre.errors import GenreError, run_cli

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def cli_result(capsys, main) -> tuple[int, list[str]]:
    try:
        run_cli(main)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err.strip().splitlines()


def raising(err: BaseException):
    def main():
        raise err

    return main


# --- run_cli: every failure is one line -----------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "models/mlp.keras"),
            "error: models/mlp.keras: Permission denied: check its permissions",
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "data/raw"),
            "error: data/raw: No such file or directory: check that the path exists",
        ),
        (
            IsADirectoryError(errno.EISDIR, "Is a directory", "metrics/split.json"),
            "error: metrics/split.json: Is a directory: it is a folder where a file belongs",
        ),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "data/features/x.npy"),
            "error: data/features/x.npy: Not a directory: a part of the path is a file",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "data/features/sequences.npy"),
            "error: data/features/sequences.npy: No space left on device: the disk is full",
        ),
        (
            OSError(errno.EROFS, "Read-only file system", "metrics"),
            "error: metrics: Read-only file system: the file system is read-only",
        ),
        (
            OSError(errno.EDQUOT, "Disk quota exceeded", "models"),
            "error: models: Disk quota exceeded: the disk quota is used up",
        ),
        (
            FileExistsError(errno.EEXIST, "File exists", "a", None, "b"),
            "error: a -> b: File exists: something is already there",
        ),
    ],
    ids=["EACCES", "ENOENT", "EISDIR", "ENOTDIR", "ENOSPC", "EROFS", "EDQUOT", "EEXIST"],
)
def test_operating_system_errors_are_one_line_naming_the_path(capsys, error, expected):
    code, err = cli_result(capsys, raising(error))
    assert code == 1 and len(err) == 1 and err[0].startswith(expected), err


def test_a_bug_is_one_line_too_and_its_traceback_on_request(capsys, monkeypatch):
    monkeypatch.delenv(errors.DEBUG_ENV, raising=False)
    code, err = cli_result(capsys, raising(KeyError("clip_id")))
    assert code == 1
    assert err == [
        "error: unexpected KeyError: 'clip_id': this is a bug, please report it "
        f"(rerun with {errors.DEBUG_ENV}=1 for the traceback)"
    ]
    monkeypatch.setenv(errors.DEBUG_ENV, "1")
    with pytest.raises(KeyError):
        run_cli(raising(KeyError("clip_id")))


def test_a_multi_line_message_stays_one_line(capsys):
    code, err = cli_result(capsys, raising(GenreError("params.yaml: bad\n  here")))
    assert code == 1 and err == ["error: params.yaml: bad here"]


def test_under_dvc_the_message_names_the_restore_command(capsys, monkeypatch):
    """DVC sets DVC_STAGE/DVC_ROOT for a stage's command and has removed its outputs."""
    monkeypatch.setenv("DVC_ROOT", str(ROOT))
    monkeypatch.setenv("DVC_STAGE", "download")
    code, err = cli_result(capsys, raising(GenreError("nowhere: folder not found")))
    assert err == [
        "error: nowhere: folder not found (dvc removed the previous outputs of stage download "
        "before running it; `dvc checkout download` restores them)"
    ]
    monkeypatch.setenv("DVC_STAGE", "train_mlp")  # cache: false outs come back from git
    code, err = cli_result(capsys, raising(GenreError("boom")))
    assert "`dvc checkout train_mlp && git checkout -- metrics/train/mlp` restores" in err[0]
    monkeypatch.delenv("DVC_STAGE")
    code, err = cli_result(capsys, raising(GenreError("boom")))
    assert err == ["error: boom"]


@pytest.mark.parametrize(
    ("interrupt", "code", "line"),
    [
        (KeyboardInterrupt(), 130, "stopped: interrupted (Ctrl-C)"),
        (errors.Terminated(), 143, "stopped: terminated (SIGTERM)"),
    ],
    ids=["ctrl-c", "sigterm"],
)
def test_interruptions_leave_no_temporaries(capsys, tmp_path, interrupt, code, line):
    (tmp_path / "out.csv").write_text("old")

    def main():
        with files.atomic_path(tmp_path / "out.csv") as tmp:
            tmp.write_text("half")
            with files.atomic_dir(tmp_path / "raw") as folder:
                (folder / "a.wav").write_text("half")
                raise interrupt

    got, err = cli_result(capsys, main)
    assert got == code and len(err) == 1 and err[0].startswith(line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    assert (tmp_path / "out.csv").read_text() == "old"


# --- stale temporaries ----------------------------------------------------------------------


def dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_only_temporaries_of_dead_runs(tmp_path):
    out = tmp_path / "summary.parquet"
    dead, alive = dead_pid(), os.getppid()
    (tmp_path / f".summary.parquet.{dead}.k2j4_x9a.tmp").write_text("left by SIGKILL")
    (tmp_path / f".summary.parquet.{alive}.abcd1234.tmp").write_text("a live run's")
    (tmp_path / f".raw.{dead}.q8w7e6r5").mkdir()
    (tmp_path / f".raw.{dead}.q8w7e6r5" / "blues.00000.wav").write_text("x")
    (tmp_path / f".raw.{dead}.old").mkdir()
    (tmp_path / ".summary.parquet.notes").write_text("the user's own hidden file")
    old = tmp_path / ".summary.parquet.zz12yy34.tmp"  # no pid: made by older code
    old.write_text("older than this run")
    os.utime(old, (time.time() - 3600,) * 2)
    with files.atomic_path(out) as tmp:
        tmp.write_text("new")
    with files.atomic_dir(tmp_path / "raw") as folder:
        (folder / "index.csv").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            ".summary.parquet.notes",
            f".summary.parquet.{alive}.abcd1234.tmp",
            "raw",
            "summary.parquet",
        ]
    )


# Starts a command with SIGINT's disposition set, whatever this test runner's is: a shell
# starts a background job (`pytest ... &` in a script, nohup) with SIGINT ignored, and an
# ignored signal stays ignored across exec.
LAUNCH = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[1] == 'ignore' else signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


def run_stage(name: str, cwd: Path, *, sigint: str = "default") -> subprocess.Popen:
    """`python -m genre.stages.<name>` started with SIGINT at its default or ignored."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("DVC_STAGE", None)
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, sigint, "-m", f"genre.stages.{name}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def temporaries(folder: Path) -> list[str]:
    return (
        sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
        if folder.is_dir()
        else []
    )


def wait_for_temporaries(process: subprocess.Popen, folder: Path) -> None:
    """Wait (at most 60 s) until the stage is writing beside its outputs."""
    deadline = time.monotonic() + 60
    while not temporaries(folder):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the stage never started writing"
        time.sleep(0.05)
    time.sleep(0.3)


BIG = "data:\n  clips_per_genre: 40\n  duration_s: 10\n"  # about 15 s of work on 2 cores
SMALL = "data:\n  clips_per_genre: 2\n  duration_s: 1\n"


@pytest.fixture
def downloaded(tmp_path) -> Path:
    """A project with a previous data/raw (its content does not matter here) and params that
    make the next download take long enough to be interrupted."""
    (tmp_path / "data" / "raw" / "blues").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "index.csv").write_text("track_id,genre,path\n")
    (tmp_path / "data" / "raw" / "blues" / "blues.00000.wav").write_bytes(b"RIFF last good")
    (tmp_path / "params.yaml").write_text(BIG)
    return tmp_path


@pytest.mark.parametrize(
    ("signum", "code", "line"),
    [
        (signal.SIGTERM, 143, "stopped: terminated (SIGTERM): stopped"),
        (signal.SIGINT, 130, "stopped: interrupted (Ctrl-C): stopped"),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_signals_stop_a_stage_promptly_and_cleanly(downloaded, signum, code, line):
    before = (downloaded / "data/raw/index.csv").read_bytes()
    process = run_stage("download", downloaded)
    wait_for_temporaries(process, downloaded / "data")
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10  # promptly: the running clips finish, no new ones
    assert process.returncode == code
    assert err.strip().splitlines() == [line + ", no temporary files left"]
    assert temporaries(downloaded / "data") == []
    assert (downloaded / "data/raw/index.csv").read_bytes() == before


@pytest.mark.slow  # ~4 s: a stage left to run until SIGTERM
def test_started_with_sigint_ignored_a_stage_keeps_ignoring_it(downloaded):
    """Unix convention (nohup, `cmd &` in a script, a queued experiment in the background):
    Ctrl-C ignored at start stays ignored; the stage goes on, and SIGTERM stops it cleanly."""
    before = (downloaded / "data/raw/index.csv").read_bytes()
    process = run_stage("download", downloaded, sigint="ignore")
    wait_for_temporaries(process, downloaded / "data")
    process.send_signal(signal.SIGINT)
    time.sleep(1.5)
    assert process.poll() is None, process.communicate()  # still running, unaffected
    assert temporaries(downloaded / "data")  # still writing
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143
    assert err.strip().splitlines() == [
        "stopped: terminated (SIGTERM): stopped, no temporary files left"
    ]
    assert temporaries(downloaded / "data") == []
    assert (downloaded / "data/raw/index.csv").read_bytes() == before


INTERRUPTED_IN_EXEC = """
from genre.errors import run_cli


def main():
    # Ctrl-C while Python runs text through exec() or eval(), as namedtuple and dataclass
    # creation do (so every import): the moment a stage is most often interrupted.
    exec("import os, signal, time; os.kill(os.getpid(), signal.SIGINT); time.sleep(30)")


if __name__ == "__main__":
    run_cli(main)
"""


def test_ctrl_c_inside_exec_still_exits_130_with_its_line(tmp_path):
    """CPython ends a process by SIGINT, after its clean exit, when a plain KeyboardInterrupt
    left an exec() of text, even one caught later: run_cli's own Ctrl-C exception avoids it."""
    (tmp_path / "interrupted_in_exec.py").write_text(INTERRUPTED_IN_EXEC)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(tmp_path)])}
    env.pop("DVC_STAGE", None)
    result = subprocess.run(
        [sys.executable, "-c", LAUNCH, "default", "-m", "interrupted_in_exec"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert result.stderr.strip().splitlines() == [
        "stopped: interrupted (Ctrl-C): stopped, no temporary files left"
    ]


@pytest.mark.slow  # ~5 s: a killed stage, then a whole rerun
def test_after_sigkill_the_next_run_sweeps_the_litter(downloaded):
    process = run_stage("download", downloaded)
    wait_for_temporaries(process, downloaded / "data")
    os.killpg(process.pid, signal.SIGKILL)  # the stage and its worker processes
    process.communicate(timeout=30)
    litter = temporaries(downloaded / "data")
    assert litter and all(re.fullmatch(rf"\.raw\.{process.pid}\.\w+", n) for n in litter)
    (downloaded / "params.yaml").write_text(SMALL)
    rerun = run_stage("download", downloaded)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert temporaries(downloaded / "data") == []


# --- dvc repro: a failed stage, and the one command that restores its outputs --------------


def dvc(repo: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = command_env(drop=("DVC_STAGE",), PYTHONPATH=str(repo / "src"))
    return completed(repo, *args, env=env, check=ok, timeout=600)


@pytest.mark.slow
def test_failed_repro_names_the_command_that_restores_the_outputs(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(SRC, repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "dvc.yaml", repo)
    params = {"data": {"source": "synthetic", "clips_per_genre": 2, "duration_s": 2}}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    dvc(repo, "git", "init", "-q")
    dvc(repo, "dvc", "init", "-q")
    dvc(repo, "dvc", "repro", "download")
    dvc(repo, "git", "add", "-A")
    dvc(repo, "git", "commit", "-qm", "good data")
    good = {p.name: p.read_bytes() for p in (repo / "data/raw").rglob("*") if p.is_file()}

    params["data"] = {"source": "local", "local_path": "nowhere"}  # the user's mistake
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    failed = dvc(repo, "dvc", "repro", "download", ok=False)
    assert failed.returncode != 0
    assert "Traceback" not in failed.stdout + failed.stderr
    lines = [line for line in (failed.stdout + failed.stderr).splitlines() if "error:" in line]
    assert lines[0].startswith("error: nowhere: folder not found")
    assert "`dvc checkout download` restores them" in lines[0]
    assert not (repo / "data/raw").exists()  # DVC removed it before running the stage

    dvc(repo, "dvc", "checkout", "download")  # the command the message names
    restored = {p.name: p.read_bytes() for p in (repo / "data/raw").rglob("*") if p.is_file()}
    assert restored == good
