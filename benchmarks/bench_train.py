"""Time the four trainings: per-epoch and total seconds per model, and the sum.

    python benchmarks/bench_train.py              # on data/features + data/split (project root)
    python benchmarks/bench_train.py --fabricate  # on fabricated data of the default size
    python benchmarks/bench_train.py --fabricate --epochs 3 lstm bilstm   # quick per-epoch

Uses params.yaml's model/train sections; --epochs, --batch-size, --units override them.
Prints per model its test scores and the md5 of its trained weights and test predictions (as
benchmarks/bench_determinism.py): equal md5s, the same training. Writes nothing.
"""

import argparse
import dataclasses
import hashlib
import os
import time

from genre import kernels  # noqa: F401 - first: it holds NumPy's and OpenBLAS's kernels

# isort: split
import numpy as np
import pandas as pd

from genre import GENRES, params
from genre.errors import run_cli
from genre.models import registry
from genre.models.networks import keras


def fabricate(
    *, tracks_per_genre: int = 100, clips_per_track: int = 7, steps: int = 60, seed: int = 0
) -> dict[str, "object"]:
    """Default-size stand-ins for the featurize/split outputs: per genre a noisy offset on a
    few features, so the models learn something (and early stopping behaves as on data).
    Returns {"summary": (n, 44), "sequences": (n, steps, 44), "rows": split table}."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, genre in enumerate(GENRES):
        for t in range(tracks_per_genre):
            test = t < tracks_per_genre // 5
            for c in range(clips_per_track):
                rows.append((f"{genre}.{t:05d}.{c}", f"{genre}.{t:05d}", genre, g, test))
    table = pd.DataFrame(rows, columns=["clip_id", "track_id", "genre", "g", "test"])
    offsets = rng.normal(scale=0.25, size=(len(GENRES), 44)).astype("float32")
    track_noise = {t: rng.normal(scale=0.8, size=44) for t in table["track_id"].unique()}
    base = offsets[table["g"]] + np.stack([track_noise[t] for t in table["track_id"]])
    sequences = (base[:, None, :] + rng.normal(size=(len(table), steps, 44))).astype("float32")
    table["transform"] = "original"
    table["subset"] = np.where(table["test"], "test", "train")
    split = table[["clip_id", "track_id", "genre", "transform", "subset"]]
    return {"summary": sequences.mean(axis=1), "sequences": sequences, "rows": split}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "archs", nargs="*", metavar="ARCH", help=f"default: {' '.join(registry.names())}"
    )
    parser.add_argument("--fabricate", action="store_true", help="fabricated default-size data")
    parser.add_argument("--epochs", type=int, help="override train.epochs")
    parser.add_argument("--batch-size", type=int, help="override train.batch_size")
    parser.add_argument("--units", type=int, help="override model.units")
    args = parser.parse_args()
    for arch in args.archs:
        registry.get(arch)  # an unknown one: one line naming the known ones
    model_params, train_params = params.load("model"), params.load("train")
    if args.units:
        model_params = dataclasses.replace(model_params, units=args.units)
    for name in ("epochs", "batch_size"):
        if getattr(args, name):
            train_params = dataclasses.replace(train_params, **{name: getattr(args, name)})

    from genre.models import training
    from genre.models.inputs import Inputs, load_inputs

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)
            self.cpu.append(time.process_time() - self.cpu_start)

    fake = fabricate() if args.fabricate else None
    print(f"{model_params}\n{train_params}\ncores: {len(os.sched_getaffinity(0))}")
    total = worst = 0.0
    for arch in args.archs or registry.names():
        if fake:
            x = fake["summary"] if arch == "mlp" else fake["sequences"]
            inputs = Inputs(x=x, rows=fake["rows"])
        else:
            inputs = load_inputs(sequences=registry.get(arch).sequences)
        timer = EpochTimer()
        timer.times, timer.cpu = [], []
        result = training.train(
            arch,
            inputs,
            model_params=model_params,
            train_params=train_params,
            callbacks=[timer],
        )
        probs = result.predictions.filter(like="prob_").to_numpy("float32")
        outcome = b"".join(a.tobytes() for a in [*result.model.get_weights(), probs])
        per_epoch = float(np.median(timer.times[1:] or timer.times))
        cpu = float(np.median(timer.cpu[1:] or timer.cpu))
        total += result.seconds
        worst += result.seconds + per_epoch * (train_params.epochs - len(timer.times))
        print(
            f"{arch:7s} x{tuple(inputs.x.shape)}: {len(timer.times)} epochs "
            f"(best {result.summary['best/epoch']}), {per_epoch:.2f} s/epoch (CPU {cpu:.2f} s) "
            f"(first {timer.times[0]:.1f} s), {result.seconds:.0f} s in all, "
            f"test accuracy {result.summary['test/accuracy']:.4f} "
            f"(macro recall {result.summary['test/macro_recall']:.4f}), "
            f"md5 {hashlib.md5(outcome).hexdigest()[:12]}",
            flush=True,
        )
    print(
        f"total: {total:.0f} s ({total / 60:.1f} min); if no model stopped early: "
        f"{worst:.0f} s ({worst / 60:.1f} min); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    run_cli(main)
