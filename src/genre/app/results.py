"""`python -m genre.app.results [metrics/report.json]`: the README's results table, from the report
`evaluate` writes, so every figure in it can be regenerated (scores with 95% intervals).
"""

import json
import sys
from pathlib import Path

from genre.errors import GenreError, run_cli
from genre.evaluation import models_of
from genre.models import registry
from genre.paths import REPORT

NAMES = {"baseline": "baseline (logistic regression)", "ensemble": "**ensemble**"}
COLUMNS = (  # (scope, score, header)
    ("test", "accuracy", "accuracy"),
    ("test", "macro_recall", "macro recall"),
    ("test_original", "accuracy", "accuracy, original clips"),
    ("test_original", "macro_recall", "macro recall, original clips"),
)


def with_interval(scores: dict, key: str) -> str:
    """`0.960 [0.93, 0.98]`: the estimate to 3 digits, its 95% interval to 2."""
    low, high = scores[f"{key}_ci"]
    return f"{scores[key]:.3f} [{low:.2f}, {high:.2f}]"


def title(model: str) -> str:
    """How the table names a model: the registry's title of an architecture."""
    if model in NAMES:
        return NAMES[model]
    return registry.get(model).title if model in registry.names() else model


def markdown(report: dict) -> str:
    """The table (one row per model) and the test tracks per genre, as Markdown."""
    lines = [
        "| model | " + " | ".join(header for *_, header in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for name in models_of(report):
        cells = [
            with_interval(report[name][scope], key) if scope in report[name] else "–"
            for scope, key, _ in COLUMNS
        ]
        lines.append(f"| {title(name)} | " + " | ".join(cells) + " |")
    tracks = ", ".join(f"{g} {n}" for g, n in report["test_tracks_per_genre"].items())
    lines += ["", f"Test tracks per genre: {tracks}."]
    if report["absent_genres"]:
        absent = ", ".join(report["absent_genres"])
        lines.append(f"Absent from the test set (left out of macro recall): {absent}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else REPORT
    if not path.is_file():
        raise GenreError(f"{path} is missing: run `dvc repro evaluate` first")
    try:
        report = json.loads(path.read_text())
        print(markdown(report))
    except (ValueError, KeyError, TypeError) as err:
        raise GenreError(
            f"{path} is not a report of this version ({type(err).__name__}: {err}): "
            "run `dvc repro evaluate`"
        ) from None


if __name__ == "__main__":
    run_cli(main)
