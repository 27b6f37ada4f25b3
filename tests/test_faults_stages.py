"""Fault battery, stages: bad params and params files, each ONE line naming the key, nothing
written."""

import errno
from pathlib import Path

import pytest
from stage_faults import (
    assert_raw_intact,
    local_params,
    one_error,
    project,
    snapshot,
    stage,
)

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
