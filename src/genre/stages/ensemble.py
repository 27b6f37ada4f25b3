"""Stage ensemble: soft voting over the four models' test predictions.

Writes data/predictions/ensemble.parquet (same table as a model's) and models/ensemble.json:
the weights and the four models' descriptions (models/<arch>.json, checked to agree; see
genre.modelset), which `genre predict` reads to combine the saved models the same way.
"""

from genre import ARCHITECTURES, modelset, params
from genre.errors import run_cli
from genre.evaluation import read_predictions, soft_vote
from genre.files import atomic_path, write_json
from genre.paths import MODELS_DIR, predictions_path


def main() -> None:
    weights = params.load("ensemble").weights
    descriptions = {
        arch: modelset.read(modelset.description_path(arch, MODELS_DIR), model=arch)
        for arch in ARCHITECTURES
    }
    description = modelset.describe_ensemble(descriptions, weights=weights, models_dir=MODELS_DIR)
    predictions = {
        arch: read_predictions(predictions_path(arch), made_by=f"train_{arch}")
        for arch in ARCHITECTURES
    }
    combined = soft_vote(predictions, weights)
    with atomic_path(predictions_path("ensemble")) as tmp:
        combined.to_parquet(tmp, index=False)
    write_json(description, modelset.description_path("ensemble", MODELS_DIR))
    accuracy = (combined["genre"] == combined["predicted"]).mean()
    shown = ", ".join(f"{a} {w:g}" for a, w in weights.items())
    print(f"ensemble ({shown}): {len(combined)} test clips, accuracy {accuracy:.3f}")


if __name__ == "__main__":
    run_cli(main)
