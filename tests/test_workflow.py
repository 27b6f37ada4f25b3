"""The pull-request workflow: valid for GitHub, installs as the README says, and its shell
steps really do what they claim (run here on a tiny DVC project with a bare `origin`)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "pr.yml"
README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the venv running the tests: dvc, python


def load_workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict]:
    (job,) = load_workflow()["jobs"].values()
    return job["steps"]


def readme_setup_command() -> str:
    """The first ```bash block under the README's `## Set-up` heading."""
    setup = README.read_text().split("## Set-up", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", setup, re.S).group(1).strip()


def commands(run: str) -> list[str]:
    """A step's shell commands, split on newlines and `&&`."""
    return [c.strip() for line in run.splitlines() for c in line.split("&&") if c.strip()]


def step_index(predicate) -> int:
    matches = [i for i, s in enumerate(steps()) if predicate(s)]
    assert matches, "no such step in the workflow"
    return matches[0]


def check_jsonschema() -> str:
    exe = shutil.which("check-jsonschema", path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install -r requirements-dev.txt)")
    return exe


# --- the file itself ------------------------------------------------------------------------


def test_workflow_is_valid_for_github():
    result = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    """The validation above can fail: a step with neither `run` nor `uses` is refused."""
    broken = load_workflow()
    (job,) = broken["jobs"].values()
    job["steps"].append({"name": "does nothing"})
    path = tmp_path / "pr.yml"
    path.write_text(yaml.safe_dump(broken))
    result = subprocess.run(
        [check_jsonschema(), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_runs_on_pull_requests_with_rights_to_comment():
    workflow = load_workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "pull_request" in triggers
    assert workflow["permissions"]["pull-requests"] == "write"


def test_installs_and_runs_exactly_as_the_readme_says():
    readme = readme_setup_command()
    assert readme.endswith(" && dvc repro"), readme
    install = readme.removesuffix(" && dvc repro")
    i_install = step_index(lambda s: s.get("run", "").strip() == install)
    i_repro = step_index(lambda s: "dvc repro" in commands(s.get("run", "")))
    repro = commands(steps()[i_repro]["run"])
    assert repro.index(". .venv/bin/activate") < repro.index("dvc repro")
    i_python = step_index(lambda s: s.get("uses", "").startswith("actions/setup-python@"))
    python = steps()[i_python]["with"]
    assert str(python["python-version"]) == "3.11"
    assert python["cache"] == "pip"  # pip's download cache, kept between runs
    assert i_python < i_install < i_repro


def test_checks_out_full_history_and_posts_the_report():
    checkout = steps()[step_index(lambda s: s.get("uses", "").startswith("actions/checkout@"))]
    assert checkout["with"]["fetch-depth"] == 0
    comment = steps()[step_index(lambda s: "gh pr comment" in s.get("run", ""))]
    assert "${{ github.event.pull_request.number }}" in comment["run"]
    assert "--body-file report.md" in comment["run"]
    assert comment["env"]["GH_TOKEN"]


# --- the shell steps, run for real ------------------------------------------------------------

TRAIN = """\
import json, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
open("model.txt", "w").write(f"model trained with lr={lr}")
json.dump({"accuracy": lr * 2}, open("metrics.json", "w"))
open("runs.log", "a").write("ran\\n")  # untracked: counts real runs of the stage
"""
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.lr]
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
"""


def sh(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def make_pull_request(tmp: Path, *, remote: bool, lr: float) -> Path:
    """A bare `origin` whose main holds a reproduced project, and a detached checkout of a
    pull request setting train.lr (what actions/checkout leaves behind: no local main)."""
    dev, origin, pr = tmp / "dev", tmp / "origin.git", tmp / "pr"
    sh("git", "init", "-q", "--bare", "-b", "main", str(origin), cwd=tmp)
    dev.mkdir()
    sh("git", "init", "-q", "-b", "main", cwd=dev)
    sh("git", "config", "user.email", "ci@example.com", cwd=dev)
    sh("git", "config", "user.name", "ci", cwd=dev)
    sh("dvc", "init", "-q", cwd=dev)
    (dev / "train.py").write_text(TRAIN)
    (dev / "dvc.yaml").write_text(DVC_YAML)
    (dev / "params.yaml").write_text("train:\n  lr: 0.25\n")
    (dev / ".gitignore").write_text("runs.log\n")
    if remote:
        sh("dvc", "remote", "add", "-q", "-d", "store", str(tmp / "store"), cwd=dev)
    sh("dvc", "repro", "-q", cwd=dev)
    if remote:
        sh("dvc", "push", "-q", cwd=dev)
    sh("git", "add", "-A", cwd=dev)
    sh("git", "commit", "-q", "-m", "main", cwd=dev)
    sh("git", "push", "-q", str(origin), "main", cwd=dev)
    sh("git", "clone", "-q", str(origin), str(pr), cwd=tmp)
    sh("git", "checkout", "-q", "--detach", cwd=pr)
    sh("git", "branch", "-q", "-D", "main", cwd=pr)
    (pr / "params.yaml").write_text(f"train:\n  lr: {lr}\n")
    activate = pr / ".venv" / "bin" / "activate"  # stands in for the README's venv
    activate.parent.mkdir(parents=True)
    activate.write_text(f'export PATH="{BIN}:$PATH"\n')
    return pr


def run_workflow_steps(pr: Path) -> Path:
    """Run the workflow's own `run` scripts in order, as GitHub does (bash -eo pipefail),
    except the pip install and the steps needing GitHub (`${{ }}` expressions)."""
    install = readme_setup_command().removesuffix(" && dvc repro")
    summary = pr.parent / "step-summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    for step in steps():
        run = step.get("run")
        if run is None or run.strip() == install or "${{" in run:
            continue
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
            cwd=pr,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"step {step.get('name')!r}: {result.stderr}"
    return summary


@pytest.mark.slow
def test_steps_report_metric_and_param_changes_against_main(tmp_path):
    pr = make_pull_request(tmp_path, remote=False, lr=0.5)
    summary = run_workflow_steps(pr)
    report = (pr / "report.md").read_text()
    metrics, params = report.split("### Params")
    # the pipeline ran on the pull request's params: accuracy 0.5 on main -> 1.0 here
    assert "metrics.json" in metrics and "accuracy" in metrics
    assert re.search(r"\|\s*0\.5\s*\|\s*1(\.0)?\s*\|", metrics), metrics
    assert re.search(r"train\.lr\s*\|\s*0\.25\s*\|\s*0\.5\s*\|", params), params
    assert summary.read_text() == report
    assert (pr / "runs.log").read_text() == "ran\n"


@pytest.mark.slow
def test_steps_pull_cached_results_when_a_remote_is_configured(tmp_path):
    """Same params as main + a DVC remote: outputs come from the remote, nothing re-runs."""
    pr = make_pull_request(tmp_path, remote=True, lr=0.25)
    run_workflow_steps(pr)
    assert (pr / "model.txt").read_text() == "model trained with lr=0.25"
    assert not (pr / "runs.log").exists()
    report = (pr / "report.md").read_text()
    assert "No metric changed." in report and "No param changed." in report
