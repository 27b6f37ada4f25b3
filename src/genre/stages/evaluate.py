"""Stage evaluate: scores of the four models and the ensemble on the test set.

Writes metrics/evaluate.json (accuracy, macro recall, macro F1 and recall per genre on all
test clips and on the original ones alone), metrics/confusion/<model>.csv (actual, predicted
per test clip, for DVC's confusion plot) and metrics/recall.csv (recall per genre and model).
"""

from genre import ARCHITECTURES
from genre.errors import run_cli
from genre.evaluation import (
    check_same_clips,
    confusion_frame,
    evaluate,
    read_predictions,
    recall_frame,
)
from genre.files import atomic_dir, write_csv, write_json
from genre.paths import METRICS_DIR, predictions_path

METRICS = METRICS_DIR
MODELS = (*ARCHITECTURES, "ensemble")


def main() -> None:
    frames = {
        name: read_predictions(
            predictions_path(name),
            made_by="ensemble" if name == "ensemble" else f"train_{name}",
        )
        for name in MODELS
    }
    check_same_clips(frames)
    report = evaluate(frames)
    write_json(report, METRICS / "evaluate.json")
    with atomic_dir(METRICS / "confusion") as tmp:
        for name, frame in frames.items():
            confusion_frame(frame).to_csv(tmp / f"{name}.csv", index=False)
    write_csv(recall_frame(report), METRICS / "recall.csv")
    for name, subsets in report.items():
        parts = [
            f"{subset} accuracy {s['accuracy']:.3f} macro F1 {s['macro_f1']:.3f}"
            for subset, s in subsets.items()
        ]
        print(f"{name:8s} " + "; ".join(parts))


if __name__ == "__main__":
    run_cli(main)
