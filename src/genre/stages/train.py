"""Stage train_<arch>: `python -m genre.stages.train <arch>` fits one registered architecture.

Writes models/<arch>.keras and its description models/<arch>.json (genre.models.modelset),
data/predictions/<arch>.parquet and dvclive's curves and scores in metrics/train/<arch>/. All
or nothing: on failure the previous outputs stay.
"""

import os
import sys

from genre import params
from genre.errors import GenreError, run_cli
from genre.files import atomic_dir, atomic_path, write_json
from genre.models import modelset, registry
from genre.paths import MODELS_DIR, TRAIN_METRICS_DIR, predictions_path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_arch(argv: list[str]) -> str:
    if len(argv) != 1 or argv[0] not in registry.names():
        got = " ".join(argv) or "nothing"
        raise GenreError(
            f"usage: python -m genre.stages.train ARCH, with ARCH one of "
            f"{', '.join(registry.names())} (got {got})"
        )
    return argv[0]


def main(argv: list[str] | None = None) -> None:
    arch = parse_arch(sys.argv[1:] if argv is None else argv)
    model_params, train_params = params.load("model"), params.load("train")
    data_params, featurize_params = params.load("data"), params.load("featurize")

    from genre.models import networks, training  # first: imports TensorFlow quietly
    from genre.models.inputs import load_inputs

    from dvclive import Live  # isort: skip
    from dvclive.keras import DVCLiveCallback  # isort: skip

    inputs = load_inputs(sequences=registry.get(arch).sequences)
    model_file = modelset.model_path(arch, MODELS_DIR)
    with atomic_dir(TRAIN_METRICS_DIR / arch) as live_dir:  # only what this run logs
        with Live(str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None) as live:
            result = training.train(
                arch,
                inputs,
                model_params=model_params,
                train_params=train_params,
                callbacks=[DVCLiveCallback(live=live)],
            )
            for name, value in result.summary.items():
                live.log_metric(name, value, plot=False)
        networks.save(result.model, model_file)
        description = modelset.describe_model(
            arch,
            model_file=model_file,
            shape=result.model.input_shape[1:],
            genres=inputs.genres,
            data=data_params,
            featurize=featurize_params,
        )
        write_json(description, modelset.description_path(arch, MODELS_DIR))
        with atomic_path(predictions_path(arch)) as tmp:
            result.predictions.to_parquet(tmp, index=False)
    s = result.summary
    print(
        f"{arch}: best epoch {s['best/epoch']} of {s['epochs']}, "
        f"val accuracy {s['best/val_accuracy']:.3f}, test accuracy {s['test/accuracy']:.3f} "
        f"(macro recall {s['test/macro_recall']:.3f}), {result.seconds:.0f} s"
    )


if __name__ == "__main__":
    run_cli(main)
