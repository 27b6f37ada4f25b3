"""Benchmark: the musicnn embedding (genre.features.musicnn.embed) against the 44 handcrafted
features (genre.features.extraction.song_features, as `genre predict` computes them), CPU seconds
per 30 s clip.

On the 10 real clips of ../shared/gtzan-sample (22050 Hz, 30 s), best of --repeat, the two
measured side by side in one process, interleaved. TensorFlow fixes its thread count when it
starts, so each thread count (1 and 2) runs in a fresh process of this script; the parent
prints the table. CPU seconds are the process's (all its threads), from time.process_time.

    python benchmarks/bench_embedding.py                # 1 and 2 TF threads
    python benchmarks/bench_embedding.py --variants     # also the options tried, model alone
    python benchmarks/bench_embedding.py --variants --original musicnn-0.1.0-py3-none-any.whl
        # also musicnn's own TF1 graph, frozen from the wheel (scripts/convert_musicnn.py)

The embedding's sha256 over the 10 clips is printed per thread count: it must be the same.
"""

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "gtzan-sample"
SR, DURATION = 22050, 30.0


def run_child(threads: int, paths: list[Path], *, hashes_only=False, **options) -> dict:
    """Run the measurement in a fresh process with `threads` TF threads; its JSON result."""
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, __file__, "--child", str(threads), *map(str, paths)]
    command += ["--hashes-only"] if hashes_only else []
    for key, value in options.items():
        if value not in (None, False):
            command += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: the {threads}-thread run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child(args) -> dict:
    """Measure in this process, TF held to `args.child` threads."""
    import soundfile as sf

    from genre.features import musicnn  # sets TF up (oneDNN on, AVX2) as it loads it

    tf = musicnn.tf
    tf.config.threading.set_intra_op_parallelism_threads(args.child)
    tf.config.threading.set_inter_op_parallelism_threads(args.child)
    clips = [sf.read(path, dtype="float32")[0] for path in args.paths]
    digest = hashlib.sha256()
    for y in clips:
        digest.update(musicnn.embed(y, sample_rate=SR).tobytes())
    result = {"threads": args.child, "sha256": digest.hexdigest()}
    if args.hashes_only:
        return result
    result |= side_by_side(clips, repeat=args.repeat)
    if args.variants:
        patches = musicnn.mel_patches(musicnn.resample(clips[0], sample_rate=SR))
        result["variants"] = variants(patches, repeat=args.repeat, original=args.original)
    return result


def best(fn, repeat: int) -> tuple[float, float]:
    """Best CPU and wall seconds of `repeat` runs of fn() (after one warm-up run)."""
    fn()
    cpu = wall = float("inf")
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu, wall = min(cpu, time.process_time() - c), min(wall, time.perf_counter() - w)
    return cpu, wall


def side_by_side(clips, *, repeat: int) -> dict:
    """Per clip: the embedding (and its parts) and the handcrafted features, interleaved."""
    from genre.features import musicnn
    from genre.features.extraction import song_features
    from genre.features.layout import FeatureSettings
    from genre.params import FeaturizeParams

    settings = FeatureSettings(SR, DURATION, FeaturizeParams())
    resampled = [musicnn.resample(y, sample_rate=SR) for y in clips]
    patches = [musicnn.mel_patches(y) for y in resampled]
    steps = {
        "embed": lambda: [musicnn.embed(y, sample_rate=SR) for y in clips],
        "resample": lambda: [musicnn.resample(y, sample_rate=SR) for y in clips],
        "log_mel": lambda: [musicnn.mel_patches(y) for y in resampled],
        "model": lambda: [musicnn.predict_patches(p) for p in patches],
        "features": lambda: [song_features(y, settings=settings) for y in clips],
    }
    times = {name: [float("inf")] * 2 for name in steps}
    for _ in range(repeat):  # interleaved: a busy machine slows all alike
        for name, fn in steps.items():
            pair = zip(times[name], best(fn, 1), strict=True)
            times[name] = [min(old, new / len(clips)) for old, new in pair]
    return {"per_clip": times, "patches": sum(len(p) for p in patches) / len(clips)}


def variants(patches, *, repeat: int, original: str | None) -> dict:
    """The model alone on one clip's patches, per option tried: CPU and wall seconds, and the
    max |difference| of its embedding to the default's."""
    import numpy as np

    from genre.features import musicnn

    tf = musicnn.tf
    fast = musicnn.load_model()
    spec = [tf.TensorSpec((None, *patches.shape[1:]), tf.float32)]
    traced = tf.function(lambda x: fast(x, training=False), input_signature=spec)
    xla = tf.function(lambda x: fast(x, training=False), input_signature=spec, jit_compile=True)
    runs = {
        "default: traced, constant filters skipped": lambda: musicnn.predict_patches(patches)[0],
        "every filter computed (norm after the max)": lambda: musicnn.predict_patches(
            patches, skip_constant=False
        )[0],
        "eager Keras call (no tf.function)": lambda: np.asarray(fast(patches)[0]),
        "one patch per call": lambda: np.concatenate(
            [np.asarray(traced(patches[i : i + 1])[0]) for i in range(len(patches))]
        ),
        "XLA (jit_compile=True)": lambda: np.asarray(xla(patches)[0]),
    }
    if original:
        runs["musicnn's TF1 graph, frozen"] = original_graph(original, patches)
    default = runs["default: traced, constant filters skipped"]()
    out = {}
    for name, fn in runs.items():
        cpu, wall = best(fn, repeat)
        out[name] = {"cpu": cpu, "wall": wall, "max_diff": float(np.abs(fn() - default).max())}
    return out


def original_graph(wheel: str, patches):
    """A function running musicnn's frozen TF1 graph on `patches` (embedding [n, 1506])."""
    import numpy as np

    from genre.features import musicnn

    tf = musicnn.tf
    spec = importlib.util.spec_from_file_location(
        "convert_musicnn", ROOT / "scripts" / "convert_musicnn.py"
    )
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    data = convert.fetch_wheel(Path(wheel), None)
    with tempfile.TemporaryDirectory() as tmp:
        graph = convert.frozen_graph(data, convert.read_checkpoint(data, Path(tmp)))
    g = tf.Graph()
    with g.as_default():
        tf.graph_util.import_graph_def(graph, name="")
    session = tf.compat.v1.Session(graph=g)
    feed = {"model/Placeholder:0": patches, "model/Placeholder_2:0": False}

    def run():
        top, mean = session.run(["model/Max:0", "model/moments/Squeeze:0"], feed)
        return np.concatenate([top[..., 0], mean[..., 0]], axis=1)

    return run


def report(results: list[dict], args) -> None:
    print(
        f"CPU seconds per 30 s clip, {len(args.paths)} real clips, best of {args.repeat} "
        "(wall seconds in brackets)"
    )
    print(" " * 34 + "".join(f"{'TF ' + str(r['threads']) + ' thread(s)':>22}" for r in results))
    rows = {
        "embed (all of it)": "embed",
        "  resample 22050 -> 16000 Hz": "resample",
        "  log-mel patches": "log_mel",
        "  model (10 patches)": "model",
        "44 handcrafted features": "features",
    }
    for label, key in rows.items():
        cells = [f"{r['per_clip'][key][0]:>14.3f} ({r['per_clip'][key][1]:.3f})" for r in results]
        print(f"{label:34}{''.join(cells)}")
    ratios = [r["per_clip"]["embed"][0] / r["per_clip"]["features"][0] for r in results]
    print(f"{'embed / features':34}{''.join(f'{x:>21.1f}x' for x in ratios)}")
    for r in results:
        print(f"embedding sha256 over the clips, {r['threads']} thread(s): {r['sha256']}")
    same = len({r["sha256"] for r in results}) == 1
    print("same bits for every thread count" if same else "BITS DIFFER between thread counts")
    for r in results:
        if "variants" in r:
            print(
                f"\nthe model alone on one clip's {r['patches']:.0f} patches, "
                f"TF {r['threads']} thread(s):"
            )
            for name, v in r["variants"].items():
                print(
                    f"  {name:44}{v['cpu']:7.3f} s CPU ({v['wall']:.3f} s wall), "
                    f"max |diff| to the default {v['max_diff']:.1e}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--variants", action="store_true", help="also time the options tried")
    parser.add_argument("--original", metavar="WHEEL", help="also time musicnn's own graph")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hashes-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    args.paths = args.paths or sorted(SAMPLE.glob("*/*.wav"))
    if not args.paths:
        sys.exit(f"error: no clips in {SAMPLE}: this benchmark needs the real sample clips")
    options = {"repeat": args.repeat, "variants": args.variants, "original": args.original}
    report([run_child(n, args.paths, **options) for n in args.threads], args)


if __name__ == "__main__":
    main()
