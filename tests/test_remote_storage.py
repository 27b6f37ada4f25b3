"""Data and models between machines through a DVC remote: a tiny pipeline's outputs pushed to
a local S3-compatible server (moto) are pulled into a second clone, which is then up to date
and classifies a song without running a stage."""

import os
import shutil
import sys
from pathlib import Path

import pytest
import tiny_project  # tests/ is on sys.path under pytest
from helpers import free_port

from genre import GENRES
from genre.models import registry

BUCKET = "genre-remote"
# 10 genres x 4 clips of 3 s, originals only: 10 test tracks, 30 training tracks of which a
# third (3 validation folds) held out for early stopping.
TINY = {
    "data": {"clips_per_genre": 4, "duration_s": 3},
    "augment": {"factor": 1},
    "split": {"test_size": 0.25},
    "model": {"units": 4, "layers": 1},
    "train": {"epochs": 1, "batch_size": 16, "patience": 1, "val_size": 0.34},
}
FAKE_AWS = {  # moto accepts any credentials
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}

pytest.importorskip("dvc_s3", reason="dvc-s3 is not installed (requirements-dev.txt)")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")


def run(cwd: Path, *args: str, **env: str) -> str:
    """Run a command in `cwd`, with PYTHONPATH only if given; fail the test if it fails."""
    return tiny_project.run(
        cwd, *args, env=tiny_project.command_env(drop=("PYTHONPATH",), **env), timeout=600
    )


@pytest.fixture
def s3_endpoint(tmp_path, monkeypatch):
    """An S3-compatible server on 127.0.0.1 holding one empty bucket, for this test only;
    fake credentials in the environment, and no AWS configuration of the user's."""
    import boto3

    for key in [key for key in os.environ if key.startswith("AWS_")]:
        monkeypatch.delenv(key)
    aws = tmp_path / "aws"
    aws.mkdir()
    for name in ("config", "credentials"):
        (aws / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    for key, value in FAKE_AWS.items():
        monkeypatch.setenv(key, value)
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield endpoint, client
    finally:
        server.stop()


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git + DVC repository with the project's pipeline, code and a tiny params.yaml."""
    env = tiny_project.command_env(drop=("PYTHONPATH",))
    return tiny_project.make_project(tmp_path / "first-machine", tiny=TINY, env=env)


@pytest.mark.slow
def test_second_clone_pulls_outputs_and_predicts_without_recomputing(repo, s3_endpoint, tmp_path):
    endpoint, s3 = s3_endpoint
    run(repo, "dvc", "remote", "add", "-d", "storage", f"s3://{BUCKET}/genre")
    run(repo, "dvc", "remote", "modify", "storage", "endpointurl", endpoint)
    run(repo, "dvc", "repro", PYTHONPATH=str(repo / "src"))
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "tiny pipeline run, S3 remote")
    run(repo, "dvc", "push")
    stored = s3.list_objects_v2(Bucket=BUCKET, Prefix="genre/").get("KeyCount", 0)
    assert stored > 0, "dvc push stored nothing in the bucket"
    shutil.rmtree(repo / ".dvc" / "cache")  # the clone can only get the outputs from S3

    clone = tmp_path / "second-machine"
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    assert not (clone / "models" / "lstm.keras").exists()  # outputs are not in git
    run(clone, "dvc", "pull")
    for arch in registry.names():
        model = f"models/{arch}.keras"
        assert (clone / model).read_bytes() == (repo / model).read_bytes(), model
    status = run(clone, "dvc", "status")
    assert "Data and pipelines are up to date" in status, status

    song = next((clone / "data" / "raw" / "rock").glob("*.wav")).relative_to(clone)
    output = run(
        clone,
        sys.executable,
        "-m",
        "genre.app.cli",
        "predict",
        str(song),
        PYTHONPATH=str(clone / "src"),
    )
    line = output.strip().splitlines()[-1]
    assert line.startswith(f"{song}: ") and line.split(": ", 1)[1].split()[0] in GENRES, output
    assert "Data and pipelines are up to date" in run(clone, "dvc", "status")
