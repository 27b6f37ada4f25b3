"""Atomic writes: a failure never leaves a half-written output behind."""

import pandas as pd
import pytest

from genre import files
from genre.errors import GenreError


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), files.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_dir_replaces_the_folder_only_on_success(tmp_path):
    target = tmp_path / "raw"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), files.atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("boom")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with files.atomic_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


def test_read_csv_says_which_stage_to_run(tmp_path):
    with pytest.raises(GenreError, match=r"is missing: run `dvc repro augment` first"):
        files.read_csv(tmp_path / "m.csv", columns=["clip_id"], made_by="augment")
    files.write_csv(pd.DataFrame({"clip_id": ["a"]}), tmp_path / "m.csv")
    with pytest.raises(GenreError, match=r"lacks columns \['genre'\]: it is stale"):
        files.read_csv(tmp_path / "m.csv", columns=["clip_id", "genre"], made_by="augment")
    assert files.read_csv(tmp_path / "m.csv", columns=["clip_id"], made_by="x").clip_id[0] == "a"


def test_outputs_get_the_usual_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        with files.atomic_path(tmp_path / "a.csv") as tmp:
            tmp.write_text("x")
        with files.atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("x")
    finally:
        os.umask(mask)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
