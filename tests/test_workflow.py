"""The pull-request workflow: valid for GitHub, installs as the README says, lints and runs
the fast tests before the pipeline, and its shell steps really do what they claim (run here on
a tiny DVC project with a bare `origin`, and a stand-in `gh` keeping one pull request's
comments)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import BIN, ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pr.yml"
README = ROOT / "README.md"


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
    assert comment["env"]["PR"] == "${{ github.event.pull_request.number }}"
    assert comment["env"]["REPO"] == "${{ github.repository }}"
    assert "--body-file report.md" in comment["run"]
    assert comment["env"]["GH_TOKEN"]


def test_lints_and_runs_the_fast_tests_before_the_pipeline():
    """As the README's test command does, minus the slow end-to-end tests."""
    i_check = step_index(lambda s: "ruff check" in commands(s.get("run", "")))
    check = commands(steps()[i_check]["run"])
    assert "pip install -r requirements-dev.txt" in check
    assert check.index("ruff check") < check.index("ruff format --check")
    assert check.index("ruff format --check") < check.index('pytest -m "not slow"')
    readme_tests = README.read_text().split("## Set-up", 1)[1]
    assert "ruff check && ruff format --check && pytest" in readme_tests
    i_repro = step_index(lambda s: "dvc repro" in commands(s.get("run", "")))
    assert i_check < i_repro


def test_pulls_cached_results_only_when_a_remote_is_configured():
    repro = steps()[step_index(lambda s: "dvc repro" in commands(s.get("run", "")))]["run"]
    pattern = (
        r'if \[ -n "\$\(dvc remote list\)" \]; then\s+dvc repro --pull --allow-missing\s+'
        r"else\s+.*\s+dvc repro\s+fi"
    )
    assert re.search(pattern, repro), repro


def test_attaches_the_plots_diff_page_as_an_artifact():
    def renders(step: dict) -> bool:
        return any(c.startswith("dvc plots diff main -o ") for c in commands(step.get("run", "")))

    i_plots = step_index(renders)
    folder = re.search(r"dvc plots diff main -o (\S+)", steps()[i_plots]["run"]).group(1)
    i_upload = step_index(lambda s: s.get("uses", "").startswith("actions/upload-artifact@"))
    upload = steps()[i_upload]["with"]
    assert upload["path"].rstrip("/") == folder.rstrip("/")
    assert upload["name"] == "plots"
    assert i_plots < i_upload


# --- the shell steps, run for real ------------------------------------------------------------

TRAIN = """\
import json, yaml
lr = yaml.safe_load(open("params.yaml"))["train"]["lr"]
open("model.txt", "w").write(f"model trained with lr={lr}")
json.dump({"accuracy": lr * 2}, open("metrics.json", "w"))
open("runs.log", "a").write("ran\\n")  # untracked: counts real runs of the stage
"""
PACKAGE = """\
import yaml
name = yaml.safe_load(open("params.yaml"))["package"]["name"]
open("package.txt", "w").write(f"{open('model.txt').read()}, packaged as {name}")
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
  package:
    cmd: python package.py
    deps: [package.py, model.txt]
    params: [package.name]
    outs: [package.txt]
"""


def params_yaml(*, lr: float, name: str = "main") -> str:
    return f"train:\n  lr: {lr}\npackage:\n  name: {name}\n"


def sh(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def make_pull_request(tmp: Path, *, remote: bool, lr: float, name: str = "main") -> Path:
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
    (dev / "package.py").write_text(PACKAGE)
    (dev / "params.yaml").write_text(params_yaml(lr=0.25))
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
    (pr / "params.yaml").write_text(params_yaml(lr=lr, name=name))
    activate = pr / ".venv" / "bin" / "activate"  # stands in for the README's venv
    activate.parent.mkdir(parents=True)
    activate.write_text(f'export PATH="{BIN}:$PATH"\n')
    return pr


FAKE_GH = """\
#!{python}
# A stand-in for the GitHub CLI: the comments of pull request 7 of owner/repo, kept in
# $FAKE_GH_STORE; `--jq` filters run through the real jq, as gh's built-in one would.
import json, os, subprocess, sys

store, args = os.environ["FAKE_GH_STORE"], sys.argv[1:]
comments = json.load(open(store)) if os.path.exists(store) else []
if args[0] == "api":
    method = args[args.index("--method") + 1] if "--method" in args else "GET"
    path = next(a for a in args if a.startswith("repos/"))
    if method == "GET":
        assert path == "repos/owner/repo/issues/7/comments", path
        filtered = subprocess.run(["jq", "-r", args[args.index("--jq") + 1]],
                                  input=json.dumps(comments), capture_output=True, text=True)
        sys.stdout.write(filtered.stdout)
        sys.exit(filtered.returncode)
    assert method == "PATCH" and path.startswith("repos/owner/repo/issues/comments/"), args
    field = args[args.index("-F") + 1]
    assert field.startswith("body=@"), field
    (comment,) = [c for c in comments if str(c["id"]) == path.rsplit("/", 1)[1]]
    comment["body"] = open(field.removeprefix("body=@")).read()
else:
    assert args[:2] == ["pr", "comment"] and args[2] == "7", args
    assert args[args.index("--repo") + 1] == "owner/repo", args
    body = open(args[args.index("--body-file") + 1]).read()
    comments.append({"id": 100 + len(comments), "user": "github-actions[bot]", "body": body})
json.dump(comments, open(store, "w"))
"""


def fake_gh(folder: Path) -> Path:
    """A `gh` on PATH standing in for GitHub (see FAKE_GH); returns its comment store."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (the stand-in gh filters with it, as gh does)")
    folder.mkdir(exist_ok=True)
    gh = folder / "gh"
    gh.write_text(FAKE_GH.replace("{python}", sys.executable, 1))
    gh.chmod(0o755)
    return folder / "comments.json"


def run_workflow_steps(pr: Path) -> Path:
    """Run the workflow's own `run` scripts in order, as GitHub does (bash -eo pipefail), with
    the env GitHub gives them, except the pip installs, the tests (of this project, not of the
    tiny one) and the steps needing GitHub (`${{ }}` expressions); `gh` is a stand-in."""
    install = readme_setup_command().removesuffix(" && dvc repro")
    summary = pr.parent / "step-summary.md"
    bin_dir = pr.parent / "fake-bin"
    store = fake_gh(bin_dir)
    github = {
        "${{ github.event.pull_request.number }}": "7",
        "${{ github.repository }}": "owner/repo",
        "${{ github.token }}": "not-a-token",
    }
    for step in steps():
        run = step.get("run")
        if run is None or run.strip() == install or "${{" in run or "pytest" in run:
            continue
        env = {
            **os.environ,
            **{name: github[value] for name, value in step.get("env", {}).items()},
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_STEP_SUMMARY": str(summary),
            "FAKE_GH_STORE": str(store),
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
            cwd=pr,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"step {step.get('name')!r}: {result.stderr}"
    return summary


def posted_comments(pr: Path) -> list[dict]:
    return json.loads((pr.parent / "fake-bin" / "comments.json").read_text())


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
    assert [c["body"] for c in posted_comments(pr)] == [report]


@pytest.mark.slow
def test_steps_update_one_comment_in_place_on_every_push(tmp_path):
    """A second push edits the workflow's comment; other comments are left alone."""
    pr = make_pull_request(tmp_path, remote=False, lr=0.5)
    store = fake_gh(tmp_path / "fake-bin")
    store.write_text(json.dumps([{"id": 1, "user": "reviewer", "body": "Looks good."}]))
    run_workflow_steps(pr)
    first = posted_comments(pr)
    assert len(first) == 2 and "| 0.5" in first[1]["body"]
    (pr / "params.yaml").write_text(params_yaml(lr=0.375))
    run_workflow_steps(pr)
    second = posted_comments(pr)
    assert [c["id"] for c in second] == [c["id"] for c in first]
    assert second[0]["body"] == "Looks good."
    assert second[1]["body"] == (pr / "report.md").read_text()
    assert "0.375" in second[1]["body"] and second[1]["body"] != first[1]["body"]


@pytest.mark.slow
def test_steps_run_nothing_unchanged_when_a_remote_is_configured(tmp_path):
    """Same params as main + a DVC remote: nothing re-runs, and `--allow-missing` downloads
    nothing either (the report needs only the git-tracked metrics)."""
    pr = make_pull_request(tmp_path, remote=True, lr=0.25)
    run_workflow_steps(pr)
    assert not (pr / "runs.log").exists()
    report = (pr / "report.md").read_text()
    assert "No metric changed." in report and "No param changed." in report


@pytest.mark.slow
def test_steps_pull_what_a_changed_stage_needs_from_the_remote(tmp_path):
    """Only `package` changed: its input model.txt comes from the remote, train does not run."""
    pr = make_pull_request(tmp_path, remote=True, lr=0.25, name="renamed")
    run_workflow_steps(pr)
    assert not (pr / "runs.log").exists()
    assert (pr / "package.txt").read_text() == "model trained with lr=0.25, packaged as renamed"
