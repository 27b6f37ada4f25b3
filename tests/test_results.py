"""`python -m genre.app.results`: the README's results table from metrics/report.json."""

import json

import pytest

from genre.app.results import main, markdown
from genre.errors import GenreError

SCORES = {
    "accuracy": 0.96,
    "accuracy_ci": [0.931, 0.978],
    "macro_recall": 0.955,
    "macro_recall_ci": [0.92, 0.975],
    "macro_f1": 0.95,
    "recall": {"blues": 0.9, "jazz": 1.0},
}
REPORT = {
    "baseline": {"test": SCORES, "test_original": SCORES},
    "ensemble": {"test": SCORES, "test_original": SCORES},
    "test_tracks_per_genre": {"blues": 20, "jazz": 20, "rock": 0},
    "absent_genres": ["rock"],
}


def test_rows_carry_intervals_and_tracks_per_genre():
    lines = markdown(REPORT).splitlines()
    assert lines[2] == (
        "| baseline (logistic regression) | 0.960 [0.93, 0.98] | 0.955 [0.92, 0.97] "
        "| 0.960 [0.93, 0.98] | 0.955 [0.92, 0.97] |"
    )
    assert lines[3].startswith("| **ensemble** | 0.960 [0.93, 0.98] |")
    assert "Test tracks per genre: blues 20, jazz 20, rock 0." in lines
    assert "Absent from the test set (left out of macro recall): rock." in lines


def test_reads_the_report_file(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(REPORT))
    main([str(path)])
    assert "| baseline (logistic regression) | 0.960 [0.93, 0.98]" in capsys.readouterr().out
    with pytest.raises(GenreError, match="missing: run `dvc repro evaluate`"):
        main([str(tmp_path / "none.json")])
    path.write_text(json.dumps({"mlp": {"test": {"accuracy": 1}}}))
    with pytest.raises(GenreError, match="not a report of this version.*dvc repro evaluate"):
        main([str(path)])
