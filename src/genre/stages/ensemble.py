"""Stage ensemble: soft voting over every registered architecture's test predictions.

Writes data/predictions/ensemble.parquet and models/ensemble.json (the weights and the models'
descriptions, checked to agree), which `genre predict` reads to combine the saved models alike.
"""

from genre import params
from genre.errors import run_cli
from genre.files import atomic_path, write_json
from genre.models import modelset, registry
from genre.models.predictions import read_predictions
from genre.models.voting import vote_tables
from genre.paths import MODELS_DIR, predictions_path


def main() -> None:
    weights = params.load("ensemble").weights_for(registry.names())
    descriptions = {
        arch: modelset.read(modelset.description_path(arch, MODELS_DIR), model=arch)
        for arch in registry.names()
    }
    description = modelset.describe_ensemble(descriptions, weights=weights, models_dir=MODELS_DIR)
    tables = {
        arch: read_predictions(predictions_path(arch), made_by=registry.stage_of(arch))
        for arch in registry.names()
    }
    combined = vote_tables(tables, weights)
    with atomic_path(predictions_path(registry.ENSEMBLE)) as tmp:
        combined.to_parquet(tmp, index=False)
    write_json(description, modelset.description_path(registry.ENSEMBLE, MODELS_DIR))
    accuracy = (combined["genre"] == combined["predicted"]).mean()
    shown = ", ".join(f"{a} {w:g}" for a, w in weights.items())
    print(f"ensemble ({shown}): {len(combined)} test clips, accuracy {accuracy:.3f}")


if __name__ == "__main__":
    run_cli(main)
