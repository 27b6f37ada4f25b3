"""Peak memory of featurize and the train stages as the collection grows (issue: memory that
does not grow with the collection).

For each size, a copy of the project's src/, dvc.yaml and params.yaml in a temporary folder,
with synthetic data of that many tracks of short clips (same params otherwise), runs every
stage in order as `python -m genre.stages.<name>`, sampling the summed resident memory of the
stage's process tree (its worker processes included) every 0.2 s. Prints peak MiB per stage and
size, and each size's peak against the smallest's (goal: within 1.5x at 16x the tracks).

    python benchmarks/bench_memory.py                        # 1000, 4000, 16000 tracks of 3 s
    python benchmarks/bench_memory.py --tracks 1000 2000 --duration 2 --keep
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import tree_rss_mib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STAGES = [
    ("download", []),
    ("augment", []),
    ("featurize", []),
    ("split", []),
    ("train", ["mlp"]),
    ("train", ["rnn"]),
    ("train", ["lstm"]),
    ("train", ["bilstm"]),
    ("baseline", []),
    ("ensemble", []),
    ("evaluate", []),
]
MEASURED = ("featurize", "train_mlp", "train_rnn", "train_lstm", "train_bilstm", "baseline")


def project(folder: Path, *, tracks: int, duration: float, epochs: int) -> Path:
    """src/ and params.yaml in folder, with `tracks` synthetic tracks of `duration` s."""
    shutil.copytree(ROOT / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__"))
    yaml = YAML()
    params = yaml.load(ROOT / "params.yaml")
    params["data"]["clips_per_genre"] = tracks // 10
    params["data"]["duration_s"] = duration
    params["train"]["epochs"] = epochs
    yaml.dump(params, folder / "params.yaml")
    return folder


def peak_of(argv: list[str], *, cwd: Path) -> tuple[float, float]:
    """Run a command; its process tree's peak resident MiB and its seconds."""
    start = time.perf_counter()
    env = {"PYTHONPATH": str(cwd / "src"), "PATH": str(Path(sys.executable).parent) + ":/usr/bin"}
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    peak = [0.0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_mib(proc.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    if proc.wait() != 0:
        sys.exit(f"{' '.join(argv)} failed in {cwd} (exit {proc.returncode})")
    watcher.join()
    return peak[0], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per clip")
    parser.add_argument("--epochs", type=int, default=2, help="train.epochs at every size")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    peaks: dict[int, dict[str, float]] = {}
    for tracks in args.tracks:
        folder = Path(tempfile.mkdtemp(prefix=f"genre-mem-{tracks}-"))
        try:
            project(folder, tracks=tracks, duration=args.duration, epochs=args.epochs)
            peaks[tracks] = {}
            for stage, extra in STAGES:
                name = f"{stage}_{extra[0]}" if extra else stage
                argv = [sys.executable, "-m", f"genre.stages.{stage}", *extra]
                peak, seconds = peak_of(argv, cwd=folder)
                peaks[tracks][name] = peak
                print(
                    f"{tracks:>6} tracks  {name:<14}{peak:>8.0f} MiB{seconds:>8.0f} s", flush=True
                )
        finally:
            if args.keep:
                print(f"kept {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
    smallest = args.tracks[0]
    print(f"\npeak MiB per stage ({args.duration:g} s clips, train.epochs {args.epochs})")
    print(f"{'stage':<14}" + "".join(f"{t:>9}" for t in args.tracks) + "   largest / smallest")
    for name in MEASURED:
        row = [peaks[t][name] for t in args.tracks]
        print(f"{name:<14}" + "".join(f"{p:>9.0f}" for p in row) + f"{row[-1] / row[0]:>12.2f}x")
    print(f"goal: each stage within 1.5x of its peak at {smallest} tracks")


if __name__ == "__main__":
    main()
