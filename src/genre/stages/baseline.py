"""Stage train_baseline: standardized logistic regression on the clips' summary features.

Writes models/baseline.joblib and data/predictions/baseline.parquet (the table every model
writes, so `evaluate` scores the baseline beside them).
"""

import time

from genre import params
from genre.errors import run_cli
from genre.files import atomic_path
from genre.models.baseline import fit, predict_test, save
from genre.models.inputs import load_inputs
from genre.models.registry import BASELINE
from genre.paths import BASELINE_MODEL, predictions_path


def main() -> None:
    baseline_params = params.load("baseline")
    start = time.perf_counter()
    inputs = load_inputs(sequences=False)
    model, converged = fit(inputs, params=baseline_params)
    predictions = predict_test(model, inputs)
    save(model, BASELINE_MODEL)
    with atomic_path(predictions_path(BASELINE)) as tmp:
        predictions.to_parquet(tmp, index=False)
    if not converged:
        print(
            f"note: lbfgs did not converge in baseline.max_iter={baseline_params.max_iter} "
            "iterations; raise it for the exact optimum"
        )
    accuracy = (predictions["genre"] == predictions["predicted"]).mean()
    print(
        f"baseline: {len(predictions)} test clips, accuracy {accuracy:.3f}, "
        f"{time.perf_counter() - start:.1f} s -> {BASELINE_MODEL}"
    )


if __name__ == "__main__":
    run_cli(main)
