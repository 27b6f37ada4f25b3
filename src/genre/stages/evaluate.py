"""Stage evaluate: the baseline, every architecture and the ensemble, scored on the test set.

Writes metrics/evaluate.json (the DVC metric: accuracy, macro recall and macro F1 per model, on
all test clips and on their original clips alone), metrics/report.json (the same with 95%
bootstrap intervals over test tracks and recall per genre), metrics/recall.csv and
metrics/confusion/<model>.csv (for the plots).
"""

from genre import paths
from genre.errors import run_cli
from genre.evaluation import confusion_frame, evaluate, metrics, recall_frame
from genre.files import atomic_dir, write_csv, write_json
from genre.models import registry
from genre.models.predictions import read_predictions


def scored_models() -> tuple[str, ...]:
    return (registry.BASELINE, *registry.names(), registry.ENSEMBLE)


def main() -> None:
    frames = {
        name: read_predictions(paths.predictions_path(name), made_by=registry.stage_of(name))
        for name in scored_models()
    }
    report = evaluate(frames)  # refuses predictions of different test clips
    write_json(metrics(report), paths.EVALUATE_METRICS)
    write_json(report, paths.REPORT)
    write_csv(recall_frame(report), paths.RECALL)
    with atomic_dir(paths.CONFUSION_DIR) as tmp:
        for name, frame in frames.items():
            confusion_frame(frame).to_csv(tmp / f"{name}.csv", index=False)
    tracks = report["test_tracks_per_genre"]
    print(f"test tracks per genre: {', '.join(f'{g} {n}' for g, n in tracks.items())}")
    if report["absent_genres"]:
        absent = ", ".join(report["absent_genres"])
        print(f"absent from the test set (left out of macro recall and F1): {absent}")
    for name in frames:
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
