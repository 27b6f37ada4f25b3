"""Peak memory and time of decoding hostile audio files, each in a fresh process.

    python benchmarks/bench_hostile_audio.py                   # this checkout's src/
    python benchmarks/bench_hostile_audio.py --src OTHER/src   # another copy, to compare
    python benchmarks/bench_hostile_audio.py --long            # and 20 / 25 minute songs

The hostile files are small on disk; their header is what is hostile (a 40 KB WAV at 8 Hz
decodes to 42 minutes at 22050 Hz). A case runs `genre.audio.read` (what every reader uses) or
`genre.app.predict.file_features` (what `genre predict` and the page do before the models: decode,
check, features) in its own process and prints that process's peak resident memory (ru_maxrss),
the wall time and the first line of the outcome. A 30 s clip of noise is the reference (its
`predict` peak is mostly the imports); --long adds a song at predict's default limit (20
minutes, the most a song may cost) and one over it (25 minutes, refused by its header).
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
        from genre.app.predict import file_features
        summary, _ = file_features(sys.argv[1], data=DataParams(), featurize=FeaturizeParams())
        print(f"ok: {len(summary)} windows")
except Exception as err:
    print(f"refused: {type(err).__name__}: {str(err).splitlines()[0][:110]}")
finally:
    print(f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def hostile_files(folder: Path, *, long: bool) -> dict[str, Path]:
    """name -> file: 40 KB of 16-bit noise at 8 Hz and 2 Hz, a 30 s reference clip, and with
    `long` songs of 20 and 25 minutes."""
    rng = np.random.default_rng(0)
    files = {}
    for rate in (8, 2):
        files[f"40 KB WAV at {rate} Hz"] = folder / f"rate{rate}.wav"
        sf.write(files[f"40 KB WAV at {rate} Hz"], rng.uniform(-0.5, 0.5, 20_000), rate)
    songs = {"30 s clip at 22050 Hz (reference)": 0.5}
    if long:
        songs |= {"20 min song (the default limit)": 20, "25 min song (over the limit)": 25}
    for name, minutes in songs.items():
        files[name] = folder / f"{minutes}min.wav"
        with sf.SoundFile(files[name], "w", 22050, 1, subtype="PCM_16") as out:
            for _ in range(round(minutes * 2)):  # 30 s at a time
                out.write(rng.uniform(-0.5, 0.5, 30 * 22050))
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
    parser.add_argument("--timeout", type=float, default=600.0, help="per case, seconds")
    parser.add_argument("--long", action="store_true", help="add 20 and 25 minute songs")
    args = parser.parse_args()
    print(f"src: {args.src}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in hostile_files(Path(tmp), long=args.long).items():
            for how in ("read", "predict"):
                outcome, peak, seconds = measure(file, how, src=args.src, timeout=args.timeout)
                print(f"{name:36} {how:8} peak {peak:6.0f} MiB {seconds:6.1f} s  {outcome}")


if __name__ == "__main__":
    main()
