"""Peak memory and time of decoding hostile audio files, each in a fresh process.

    python benchmarks/bench_hostile_audio.py                       # this checkout's src/
    python benchmarks/bench_hostile_audio.py --src /work/main/src  # another copy, to compare

Each file is small on disk; its header is what is hostile (a 40 KB WAV at 8 Hz decodes to
42 minutes at 22050 Hz). A case runs `genre.audio.read` (what every reader uses) or
`genre.predict.file_features` (what `genre predict` and the page do before the models: decode,
check, features) in its own process and prints that process's peak resident memory (ru_maxrss),
the wall time and the first line of the outcome. A 30 s clip of noise is the reference.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SRC = Path(__file__).resolve().parents[1] / "src"
CHILD = """
import resource, sys
from genre import audio
try:
    if sys.argv[2] == "read":
        out = audio.read(sys.argv[1], sample_rate=22050).samples
        print(f"ok: {len(out) / 22050 / 60:.1f} min decoded")
    else:
        from genre.params import DataParams, FeaturizeParams
        from genre.predict import file_features
        summary, _ = file_features(sys.argv[1], data=DataParams(), featurize=FeaturizeParams())
        print(f"ok: {len(summary)} windows")
except Exception as err:
    print(f"refused: {type(err).__name__}: {str(err).splitlines()[0][:110]}")
finally:
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def hostile_files(folder: Path) -> dict[str, Path]:
    """name -> file: 40 KB of 16-bit noise at 8 Hz and 2 Hz, and a 30 s reference clip."""
    rng = np.random.default_rng(0)
    noise = rng.uniform(-0.5, 0.5, 20_000)  # 40 KB as 16-bit mono
    files = {}
    for rate in (8, 2):
        files[f"40 KB WAV at {rate} Hz"] = folder / f"rate{rate}.wav"
        sf.write(files[f"40 KB WAV at {rate} Hz"], noise, rate, subtype="PCM_16")
    files["30 s clip at 22050 Hz (reference)"] = folder / "reference.wav"
    sf.write(files["30 s clip at 22050 Hz (reference)"], rng.uniform(-0.5, 0.5, 30 * 22050),
             22050, subtype="PCM_16")  # fmt: skip
    return files


def measure(file: Path, how: str, *, src: Path, timeout: float) -> tuple[str, float, float]:
    """(outcome, peak MiB, seconds) of one case in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(file), how],
            env=env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g} s", float("nan"), timeout
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    peak = float(lines[-1].split()[1]) if lines and lines[-1].startswith("peak") else float("nan")
    outcome = lines[0] if len(lines) > 1 else (done.stderr.strip().splitlines() or ["?"])[-1]
    return outcome, peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=SRC, help="the genre package's src folder")
    parser.add_argument("--timeout", type=float, default=300.0, help="per case, seconds")
    args = parser.parse_args()
    print(f"src: {args.src}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in hostile_files(Path(tmp)).items():
            for how in ("read", "predict"):
                outcome, peak, seconds = measure(file, how, src=args.src, timeout=args.timeout)
                print(f"{name:36} {how:8} peak {peak:6.0f} MiB {seconds:6.1f} s  {outcome}")


if __name__ == "__main__":
    main()
