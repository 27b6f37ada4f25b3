"""Stage train_baseline: standardized logistic regression on the 44 summary features.

Reads params `baseline`, data/features/summary.parquet and data/split/split.csv; writes
models/baseline.joblib and data/predictions/baseline.parquet (the table a neural model writes,
so `evaluate` scores the baseline beside them).
"""

import time

from genre import params
from genre.baseline import fit, predict_test, save
from genre.errors import run_cli
from genre.files import atomic_path
from genre.inputs import load_inputs
from genre.paths import MODELS_DIR, predictions_path

MODEL = MODELS_DIR / "baseline.joblib"


def main() -> None:
    baseline_params = params.load("baseline")
    start = time.perf_counter()
    inputs = load_inputs("mlp")  # the summary features, aligned with the split
    model, converged = fit(inputs, params=baseline_params)
    predictions = predict_test(model, inputs)
    save(model, MODEL)
    with atomic_path(predictions_path("baseline")) as tmp:
        predictions.to_parquet(tmp, index=False)
    if not converged:
        print(
            f"note: lbfgs did not converge in baseline.max_iter={baseline_params.max_iter} "
            "iterations; raise it for the exact optimum"
        )
    accuracy = (predictions["genre"] == predictions["predicted"]).mean()
    print(
        f"baseline: {len(predictions)} test clips, accuracy {accuracy:.3f}, "
        f"{time.perf_counter() - start:.1f} s -> {MODEL}"
    )


if __name__ == "__main__":
    run_cli(main)
