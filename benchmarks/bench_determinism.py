"""Do trainings give the same bytes on another x86 machine? Train each model on one fixed
fabricated input, each time in a fresh process under a different setting, and print per setting
the md5 of the trained weights and test predictions, and the time.

    python benchmarks/bench_determinism.py                   # small input: rnn lstm bilstm mlp
    python benchmarks/bench_determinism.py lstm rnn bilstm --tracks-per-genre 100 --steps 60 \
        --epochs 2 --settings project on-avx2-1core on-avx2-4cores on off-avx2   # full size
    python benchmarks/bench_determinism.py --features     # download's audio, featurize's features

Settings stand in for other machines. ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN (which also runs
TensorFlow's plain MatMuls, through Eigen) use the kernels of a CPU without AVX-512, ALL those
of this one; fewer or more cores stand in for a machine with another core count (training uses
one thread per core it may use). TF_ENABLE_ONEDNN_OPTS switches TensorFlow's own oneDNN ops.
Equal md5s across rows that differ only in ISA or cores: training does not depend on them.
--features compares NumPy's and OpenBLAS's own kernels on this CPU (AVX-512 here) with those
genre.kernels holds them to (AVX2, what a CPU without AVX-512 runs: shown under emulation by
benchmarks/check_avx2_reproducible.py). Writes nothing.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from genre import kernels  # noqa: F401 - first: it holds NumPy's and OpenBLAS's kernels

# isort: split
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("rnn", "lstm", "bilstm", "mlp")
CORES = sorted(os.sched_getaffinity(0))
# name -> (TF_ENABLE_ONEDNN_OPTS, ONEDNN_MAX_CPU_ISA, cores the training sees); "ALL": the
# kernels of this machine's best instructions (AVX-512 here), as TensorFlow picks by default.
SETTINGS = {
    "project": (
        None,
        None,
        len(CORES),
    ),  # neither variable set: what genre.kernels sets
    "on": ("1", "ALL", len(CORES)),  # TensorFlow's own default
    "on-1core": ("1", "ALL", 1),
    "on-avx2": ("1", "AVX2", len(CORES)),
    "on-avx2-1core": ("1", "AVX2", 1),
    "on-avx2-4cores": ("1", "AVX2", 4),
    "off": ("0", "ALL", len(CORES)),
    "off-1core": ("0", "ALL", 1),
    "off-avx2": ("0", "AVX2", len(CORES)),
    "off-avx2-1core": ("0", "AVX2", 1),
    "off-avx2-4cores": ("0", "AVX2", 4),
    "avx2-1core": (None, "AVX2", 1),  # a 1-core CPU without AVX-512, project otherwise
}
DEFAULT_SETTINGS = [
    *("project", "on", "on-1core", "on-avx2-1core", "on-avx2-4cores"),
    *("off", "off-avx2", "off-avx2-1core"),
]
# --features: download's audio and featurize's features under the kernels NumPy and OpenBLAS
# pick on this CPU, and under genre.kernels' hold (AVX2, as on a CPU without AVX-512), also one
# library at a time. "own" stands for this CPU's choice: nothing disabled in NumPy, OpenBLAS at
# the core it picks here (set explicitly, as an environment value wins over the hold).
OWN = "own"
FEATURE_SETTINGS = {
    "this CPU's own": {"NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": OWN},
    "numpy held": {"OPENBLAS_CORETYPE": OWN},
    "openblas held": {"NPY_DISABLE_CPU_FEATURES": ""},
    "project (held)": {},  # neither set: what every genre process runs (genre.kernels)
}
FEATURE_VARIABLES = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
ONEDNN_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def fabricated_inputs(*, tracks_per_genre: int, clips_per_track: int, steps: int):
    """A fixed stand-in for featurize + split: per genre a noisy offset on the 44 features
    (so the models learn something), 1 track in 5 per genre held out for testing."""
    import pandas as pd

    from genre import GENRES
    from genre.models.inputs import Inputs

    rng = np.random.default_rng(0)
    rows = [
        (f"{genre}.{t:05d}.{c}", f"{genre}.{t:05d}", genre, "original", g, t % 5 == 0)
        for g, genre in enumerate(GENRES)
        for t in range(tracks_per_genre)
        for c in range(clips_per_track)
    ]
    table = pd.DataFrame(rows, columns=["clip_id", "track_id", "genre", "transform", "g", "test"])
    offsets = rng.normal(scale=0.3, size=(len(GENRES), 1, 44))
    x = offsets[table["g"]] + rng.normal(size=(len(table), steps, 44))
    table["subset"] = np.where(table.pop("test"), "test", "train")
    return Inputs(x=x.astype("float32"), rows=table.drop(columns="g"))


def train_once(args) -> dict:
    """In this (fresh) process: train args.child on the fabricated input, hash the outcome.
    Training uses one thread per core it may use: report args.cores of them."""
    os.sched_getaffinity = lambda pid: set(range(args.cores))
    from genre.models.training import (
        train,  # sets TF's environment (via genre.models.networks) before TF loads
    )
    from genre.params import ModelParams, TrainParams

    inputs = fabricated_inputs(
        tracks_per_genre=args.tracks_per_genre, clips_per_track=2, steps=args.steps
    )
    if args.child == "mlp":
        inputs.x = inputs.x.mean(axis=1)
    cpu = time.process_time()
    result = train(
        args.child,
        inputs,
        model_params=ModelParams(units=args.units, layers=2, dropout=0.3),
        train_params=TrainParams(epochs=args.epochs, patience=args.epochs, batch_size=64),
    )
    cpu = time.process_time() - cpu
    import tensorflow as tf

    probs = result.predictions.filter(like="prob_").to_numpy("float32")
    outcome = [*result.model.get_weights(), probs]
    return {
        "md5": hashlib.md5(b"".join(a.tobytes() for a in outcome)).hexdigest(),
        "seconds": result.seconds,
        "cpu_seconds": cpu,
        "threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }


def features_once() -> dict:
    """In this (fresh) process: 3 synthetic clips written as download writes them (16-bit WAV),
    read back and featurized as featurize does (BLAS at one thread); hash both."""
    import tempfile

    from threadpoolctl import threadpool_limits

    from genre import audio
    from genre.features.handcrafted import clip_features
    from genre.params import FeaturizeParams
    from genre.sources.synthetic import synthesize

    wav, features = hashlib.md5(), hashlib.md5()
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1, user_api="blas"):
        for genre in ("blues", "metal", "reggae"):
            path = Path(tmp) / f"{genre}.wav"
            clip = synthesize(genre, 0, duration_s=10, sample_rate=22050, seed=42)
            audio.write_wav(path, clip, sample_rate=22050)
            wav.update(path.read_bytes())
            samples = audio.read(path, sample_rate=22050).samples
            f = clip_features(samples, sample_rate=22050, duration_s=10, params=FeaturizeParams())
            features.update(f.summary.tobytes() + f.sequence.tobytes())
    return {"wav_md5": wav.hexdigest(), "features_md5": features.hexdigest()}


def compare_features() -> None:
    from check_avx2_reproducible import native_core  # benchmarks/ is on sys.path

    core, _ = native_core()
    print(
        "3 synthetic clips of 10 s: md5 (first 12 digits) of the WAV files and of the features; "
        f"this CPU's own OpenBLAS core: {core}"
    )
    for name, environment in FEATURE_SETTINGS.items():
        env = {k: v for k, v in os.environ.items() if k not in FEATURE_VARIABLES}
        env |= {"PYTHONPATH": str(ROOT / "src")}
        env |= {k: core if v == OWN else v for k, v in environment.items()}
        command = [sys.executable, __file__, "--child", "features"]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"error: features under {name!r} failed:\n{done.stderr[-2000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{name:18} wav {r['wav_md5'][:12]}  features {r['features_md5'][:12]}", flush=True)


def run_setting(arch: str, name: str, args) -> dict:
    """Train `arch` in a fresh process under setting `name`: its oneDNN environment, and as
    many cores as it says (more than this machine has: the training is told it has them)."""
    onednn, isa, cores = SETTINGS[name]
    env = {k: v for k, v in os.environ.items() if k not in ONEDNN_VARIABLES}
    env |= {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT / "src")}
    for key, value in (("TF_ENABLE_ONEDNN_OPTS", onednn), ("ONEDNN_MAX_CPU_ISA", isa)):
        env |= {key: value} if value else {}
    command = [sys.executable, __file__, "--child", arch, "--cores", str(cores)]
    for option in ("tracks_per_genre", "steps", "units", "epochs"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, CORES[: min(cores, len(CORES))]),
    )
    if done.returncode != 0:
        sys.exit(f"error: {arch} under {name!r} failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archs", nargs="*", metavar="ARCH", help=f"default: {' '.join(ARCHS)}")
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS, choices=SETTINGS)
    parser.add_argument("--tracks-per-genre", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="sequence length")
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--features", action="store_true", help="compare audio and features instead (no training)"
    )
    parser.add_argument("--child", choices=[*ARCHS, "features"], help=argparse.SUPPRESS)
    parser.add_argument("--cores", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.archs = args.archs or ARCHS
    if set(args.archs) - set(ARCHS):
        parser.error(f"ARCH: choose from {', '.join(ARCHS)}")
    if args.child:
        print(json.dumps(features_once() if args.child == "features" else train_once(args)))
        return
    if args.features:
        compare_features()
        return

    clips = 10 * args.tracks_per_genre * 2
    print(
        f"{clips} clips x {args.steps} steps x 44 features, units {args.units}, "
        f"{args.epochs} epochs, batch 64, {len(CORES)} cores here; md5 (first 12 digits) of the "
        "trained weights and test predictions; train s: wall time of the training, cpu s: its "
        "CPU time (all threads)"
    )
    print(f"{'model':7} {'setting':16} {'threads':>7} {'md5':12} {'train s':>8} {'cpu s':>7}")
    for arch in args.archs:
        seen = {}
        for name in args.settings:
            r = run_setting(arch, name, args)
            seen.setdefault(r["md5"], []).append(name)
            print(
                f"{arch:7} {name:16} {r['threads']:>7} {r['md5'][:12]} "
                f"{r['seconds']:8.1f} {r['cpu_seconds']:7.1f}",
                flush=True,
            )
        groups = "; ".join(f"{md5[:12]}: {', '.join(names)}" for md5, names in seen.items())
        print(f"{arch:7} {len(seen)} distinct result(s): {groups}\n", flush=True)


if __name__ == "__main__":
    main()
