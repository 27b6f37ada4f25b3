"""Experiments run the code of the commit being run, read params as DVC writes them, and rerun
exactly what an edit affects: real `dvc exp run --queue` / `--temp` / `dvc queue start -j 2`
in a temporary git repository on a tiny configuration.

The user's editable install points Python at the workspace's src/; here `PYTHONPATH=<workspace>/src`
in the environment plays that part, so a stage that ignored its own checkout's src/ would import
the workspace's code. A `sitecustomize.py` committed in the test repository's src/ (loaded by
every stage's Python, since the stage command puts src/ on the path) logs, per process, its
folder, which `genre` it imported, and when it started and ended.
"""

import json
import re
import time
from pathlib import Path

import pytest
from test_dvc_deps import closure, stage_module  # tests/ is on sys.path under pytest
from tiny_project import command_env, make_project, run, stages_run

from genre.models import registry

TRAINING = {f"train_{arch}" for arch in registry.names()}
TINY = {
    "data": {"clips_per_genre": 10, "duration_s": 3},  # 100 tracks: 20 test, 80 train
    "augment": {"factor": 1},
    "model": {"units": 8, "layers": 1},
    "train": {"epochs": 1, "batch_size": 16, "patience": 1},
}
SITECUSTOMIZE = """\
import atexit, os, sys, time

_log, _start = os.environ.get("GENRE_TEST_IMPORT_LOG"), time.time()


def _record():
    genre = sys.modules.get("genre")
    if _log and genre is not None:
        line = {"pid": os.getpid(), "cwd": os.getcwd(), "genre": genre.__file__,
                "argv": sys.argv, "start": _start, "end": time.time()}
        with open(_log, "a") as f:
            f.write(__import__("json").dumps(line) + "\\n")


atexit.register(_record)
"""
WORKSPACE_MARK = """
with open({mark!r}, "a") as _mark:  # added in the workspace only, after queueing
    _mark.write(__file__ + "\\n")
"""


def training_processes(log: Path) -> list[dict]:
    """The train stages' processes (see SITECUSTOMIZE); `python -m` sets argv[0] to the file."""
    if not log.exists():
        return []
    processes = [json.loads(line) for line in log.read_text().splitlines()]
    return [p for p in processes if p["argv"][0].endswith("genre/stages/train.py")]


def importers(repo: Path, module: str) -> set[str]:
    """The stages whose code imports src/genre/<module>, derived from the code."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        commands = {stage.name: stage.cmd for stage in dvc_repo.index.stages}
    return {
        name
        for name, cmd in commands.items()
        if f"src/genre/{module}" in closure(stage_module(cmd), src=repo / "src")
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A tiny project, reproduced and committed: (repo, env, import log)."""
    tmp = tmp_path_factory.mktemp("experiments")
    repo = tmp / "repo"
    log = tmp / "imports.jsonl"
    env = command_env(
        PYTHONPATH=str(repo / "src"),  # what the editable install does for the workspace
        GENRE_TEST_IMPORT_LOG=str(log),
        GENRE_N_JOBS="1",
    )
    make_project(repo, tiny=TINY, files={"src/sitecustomize.py": SITECUSTOMIZE}, env=env)
    output = run(repo, "dvc", "repro", env=env)
    assert stages_run(output) >= TRAINING
    run(repo, "git", "add", "-A", env=env)
    run(repo, "git", "commit", "-qm", "tiny project, reproduced", env=env)
    log.unlink()
    return repo, env, log


def trained_learning_rate(repo: Path, experiment: str, *, env: dict) -> object:
    """The learning rate the experiment's MLP was compiled with (from its .keras archive)."""
    script = (
        "import dvc.api, io, json, sys, zipfile\n"
        "with dvc.api.open('models/mlp.keras', rev=sys.argv[1], mode='rb') as f:\n"
        "    config = json.loads(zipfile.ZipFile(io.BytesIO(f.read())).read('config.json'))\n"
        "print(json.dumps(config['compile_config']['optimizer']['config']['learning_rate']))\n"
    )
    return json.loads(run(repo, "python", "-c", script, experiment, env=env))


def wait_for_queue(repo: Path, *, env: dict, timeout_s: float = 1200) -> str:
    """Poll `dvc queue status` until no experiment is queued or running and no worker is left."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = run(repo, "dvc", "queue", "status", env=env)
        busy = re.search(r"\b(Queued|Running)\b", status)
        workers = re.search(r"Worker status: (\d+) active, (\d+) idle", status)
        if not busy and (workers is None or workers.groups() == ("0", "0")):
            return status
        if time.monotonic() > deadline:
            run(repo, "dvc", "queue", "stop", "--kill", env=env, check=False)
            pytest.fail(f"queue still busy after {timeout_s} s:\n{status}")
        time.sleep(5)


@pytest.mark.slow
def test_queued_experiments_run_the_committed_code_in_parallel(project):
    """Two experiments queued, then the workspace's training code changed, then
    `dvc queue start -j 2`: both run the code they were queued with, side by side in their own
    folders, and `1e-05` (what DVC writes for 0.00001) reaches training as the float 1e-05."""
    repo, env, log = project
    run(
        repo,
        "dvc",
        "exp",
        "run",
        "--queue",
        "-n",
        "lr-decimal",
        "-S",
        "train.learning_rate=0.00001",
        env=env,
    )
    run(
        repo,
        "dvc",
        "exp",
        "run",
        "--queue",
        "-n",
        "lr-scientific",
        "-S",
        "train.learning_rate=1e-5",
        env=env,
    )
    training = repo / "src" / "genre" / "models" / "training.py"
    committed = training.read_text()
    mark = repo.parent / "workspace-code-ran.txt"
    training.write_text(committed + WORKSPACE_MARK.format(mark=str(mark)))
    try:
        run(repo, "dvc", "queue", "start", "-j", "2", env=env)
        status = wait_for_queue(repo, env=env)
    finally:
        training.write_text(committed)
    assert not re.search(r"\bFailed\b", status), status

    assert not mark.exists(), f"a queued experiment ran the workspace's code:\n{mark.read_text()}"
    for name in ("lr-decimal", "lr-scientific"):
        logs = run(repo, "dvc", "queue", "logs", name, env=env)
        assert stages_run(logs) >= TRAINING, logs
        learning_rate = trained_learning_rate(repo, name, env=env)
        # Keras keeps it as float32: 9.9999997e-06
        assert isinstance(learning_rate, float) and learning_rate == pytest.approx(1e-05, rel=1e-6)
    table = json.loads(run(repo, "dvc", "exp", "show", "--json", env=env))
    rates = {
        exp["name"]: exp["data"]["params"]["params.yaml"]["data"]["train"]["learning_rate"]
        for row in table
        for exp in [*(e for run_ in row.get("experiments") or [] for e in run_["revs"])]
        if exp.get("name") in ("lr-decimal", "lr-scientific")
    }
    assert rates == {"lr-decimal": 1e-05, "lr-scientific": 1e-05}

    # every stage process imported genre from its experiment's own copy, not the workspace
    processes = training_processes(log)
    folders = {p["cwd"] for p in processes}
    assert len(processes) == 8 and len(folders) == 2, processes
    for p in processes:
        assert Path(p["genre"]) == Path(p["cwd"]) / "src" / "genre" / "__init__.py", p
        assert Path(p["cwd"]).is_relative_to(repo / ".dvc" / "tmp" / "exps"), p
    # -j 2: the two experiments ran at the same time, each in its own folder
    spans = [
        (
            min(p["start"] for p in processes if p["cwd"] == f),
            max(p["end"] for p in processes if p["cwd"] == f),
        )
        for f in folders
    ]
    (start_a, end_a), (start_b, end_b) = spans
    assert start_a < end_b and start_b < end_a, f"the experiments did not overlap: {spans}"


@pytest.mark.slow
def test_temp_experiment_imports_its_own_copy(project):
    """`dvc exp run --temp` copies the workspace (uncommitted edits included) to a temporary
    folder; its stages import genre from that copy, never from the workspace's src/."""
    repo, env, log = project
    log.unlink(missing_ok=True)
    training = repo / "src" / "genre" / "models" / "training.py"
    committed = training.read_text()
    mark = repo.parent / "temp-code-ran.txt"
    training.write_text(committed + WORKSPACE_MARK.format(mark=str(mark)))
    try:
        output = run(repo, "dvc", "exp", "run", "--temp", "-n", "temp-copy", env=env)
    finally:
        training.write_text(committed)
    ran = stages_run(output)  # what imports training.py, and what their outputs feed
    assert importers(repo, "models/training.py") <= ran, output
    assert not ran & {"download", "augment", "featurize", "split"}, output
    copies = mark.read_text().splitlines()
    assert len(copies) >= 4, copies  # the edit is in the copy, and each training ran it
    for path in copies:
        assert Path(path).is_relative_to(repo / ".dvc" / "tmp" / "exps"), path
    processes = training_processes(log)
    assert len(processes) == 4
    for p in processes:
        assert Path(p["genre"]) == Path(p["cwd"]) / "src" / "genre" / "__init__.py", p
        assert Path(p["cwd"]).is_relative_to(repo / ".dvc" / "tmp" / "exps"), p


@pytest.mark.slow
def test_editing_a_module_marks_exactly_the_stages_that_import_it(project):
    repo, env, _ = project
    for module in (
        "models/training.py",
        "evaluation.py",
        "features/handcrafted.py",
        "__init__.py",
    ):
        path = repo / "src" / "genre" / module
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        try:
            status = json.loads(run(repo, "dvc", "status", "--json", env=env))
        finally:
            path.write_bytes(original)
        assert set(status) == importers(repo, module), (module, status)
    assert json.loads(run(repo, "dvc", "status", "--json", env=env)) == {}


@pytest.mark.slow
def test_models_download_as_dvc_artifacts(project, tmp_path):
    """A version registered the model registry's way (a git tag `<name>@v<semver>`, as GTO and
    DVC Studio write it) is fetched by name with `dvc artifacts get <repo> <name>`."""
    repo, env, _ = project
    for name, path in [("mlp", "models/mlp.keras"), ("ensemble", "models/ensemble.json")]:
        run(repo, "git", "tag", "-a", f"{name}@v0.1.0", "-m", f"register {name}", env=env)
        got = tmp_path / Path(path).name
        run(repo, "dvc", "artifacts", "get", str(repo), name, "-o", str(got), env=env)
        assert got.read_bytes() == (repo / path).read_bytes(), name
