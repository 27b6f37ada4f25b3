"""Stage evaluate: scores of the baseline, the four models and the ensemble on the test set.

Writes
- metrics/evaluate.json (a DVC metric, what `dvc exp show` displays): per model, on all test
  clips (`test`) and on their original clips alone (`test_original`): accuracy, macro recall,
  macro F1;
- metrics/report.json (not a metric: the detail): the same plus 95% bootstrap intervals over
  test tracks, recall per genre, test tracks per genre and the genres absent from the test set;
- metrics/recall.csv (recall per genre and model on `test`, for the side-by-side plot);
- metrics/confusion/<model>.csv (actual, predicted per test clip, for DVC's confusion plot).
"""

from genre import ARCHITECTURES
from genre.errors import run_cli
from genre.evaluation import confusion_frame, evaluate, metrics, read_predictions, recall_frame
from genre.files import atomic_dir, write_csv, write_json
from genre.paths import METRICS_DIR, REPORT, predictions_path

METRICS = METRICS_DIR
MODELS = ("baseline", *ARCHITECTURES, "ensemble")
MADE_BY = {"baseline": "train_baseline", "ensemble": "ensemble"}


def main() -> None:
    frames = {
        name: read_predictions(predictions_path(name), made_by=MADE_BY.get(name, f"train_{name}"))
        for name in MODELS
    }
    report = evaluate(frames)  # refuses predictions of different test clips
    write_json(metrics(report), METRICS / "evaluate.json")
    write_json(report, REPORT)
    write_csv(recall_frame(report), METRICS / "recall.csv")
    with atomic_dir(METRICS / "confusion") as tmp:
        for name, frame in frames.items():
            confusion_frame(frame).to_csv(tmp / f"{name}.csv", index=False)
    tracks = report["test_tracks_per_genre"]
    print(f"test tracks per genre: {', '.join(f'{g} {n}' for g, n in tracks.items())}")
    if report["absent_genres"]:
        print(
            f"absent from the test set (left out of macro recall and F1): "
            f"{', '.join(report['absent_genres'])}"
        )
    for name in MODELS:
        parts = []
        for scope, s in report[name].items():
            (low, high), (rlow, rhigh) = s["accuracy_ci"], s["macro_recall_ci"]
            parts.append(
                f"{scope} accuracy {s['accuracy']:.3f} [{low:.2f}, {high:.2f}] "
                f"macro recall {s['macro_recall']:.3f} [{rlow:.2f}, {rhigh:.2f}]"
            )
        print(f"{name:8s} " + "; ".join(parts))


if __name__ == "__main__":
    run_cli(main)
