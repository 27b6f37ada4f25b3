"""Do featurize's bytes on a CPU WITHOUT AVX-512 equal this machine's? Featurize a few real
clips (each track's original and one noise, shift and stretch clip, as the stage makes them:
genre.features.extraction.featurize_track, BLAS at one thread) in a fresh process per setting, and
print the md5 of each clip's features (summary + sequence) side by side:

- `held`: this CPU, as every genre process runs (genre.kernels holds NumPy and OpenBLAS at AVX2);
- `AVX-512`: this CPU with NumPy's and OpenBLAS's own choice (what featurize ran before the
  hold; genre.kernels' check is bypassed to compute it); only where this CPU has AVX-512;
- `numba <llvm cpu>`: held, numba compiling for the emulated CPU below (e.g. haswell: no
  AVX-512) instead of this one;
- `qemu <CPU>`: held, in Python emulated by `qemu-x86_64 -cpu <CPU>` (qemu-user 8 or later;
  Debian 12's 7.2 crashes in NumPy's AVX2 loops): a CPU without AVX-512 where NumPy and
  OpenBLAS pick their own kernels. Its numba code is the one compiled for it in the row above
  (LLVM makes the same machine code for the same CPU name and features wherever it runs), or
  compiled under emulation with --numba-there (about 8 minutes more per CPU).

    python benchmarks/check_avx2_reproducible.py                   # 3 tracks, qemu Haswell
    python benchmarks/check_avx2_reproducible.py --cpus Haswell EPYC-Rome --tracks 2
    python benchmarks/check_avx2_reproducible.py --sample ../shared/gtzan-sample --cpus  # no qemu

Exit status 1 when a held setting differs from `held` (or AVX-512 does not: the check could not
fail). Emulation is slow: about 2 minutes to start Python and its libraries, then about a
minute per track. Writes nothing.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genre import kernels  # first: it holds NumPy's and OpenBLAS's kernels before they load

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "gtzan-sample"
TRACKS = ("blues", "metal", "reggae", "jazz", "classical")
HELD_VARIABLES = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
QEMU = "qemu-x86_64"
MIN_QEMU = (8, 0)  # 7.2 (Debian 12's) segfaults in NumPy's AVX2 loops (log10 of a float32 array)


def features_md5s(tracks: list[str], *, sample: Path, unheld: bool) -> dict:
    """In this (fresh) process: featurize each track's 4 clips; their md5s and the kernels."""
    import hashlib

    import pandas as pd
    from threadpoolctl import threadpool_info

    from genre.features import extraction
    from genre.features.augment import build_manifest
    from genre.features.layout import FeatureSettings
    from genre.params import AugmentParams, FeaturizeParams

    if unheld:  # computing with the unheld kernels is the point here: no refusal
        kernels.check_held = lambda **_: None
    index = pd.DataFrame(
        {
            "track_id": [f"{t}.00000" for t in tracks],
            "genre": tracks,
            "path": [f"{t}/{t}.00000.wav" for t in tracks],
        }
    )
    manifest = build_manifest(index, params=AugmentParams(factor=4.0))  # + noise, shift, stretch
    settings = FeatureSettings(22050, 30.0, FeaturizeParams())
    md5s, start = {}, time.perf_counter()
    for job in extraction.track_jobs(index, manifest, raw_dir=sample):
        for row, result in extraction.featurize_track(job, settings=settings):
            if isinstance(result, str):  # skipped: why, in place of an md5
                md5s[manifest["clip_id"].iloc[row]] = f"skipped: {result}"
                continue
            data = result.summary.tobytes() + result.sequence.tobytes()
            md5s[manifest["clip_id"].iloc[row]] = hashlib.md5(data).hexdigest()
    from numpy._core import _multiarray_umath as numpy_cpu

    return {
        "md5s": md5s,
        "seconds": time.perf_counter() - start,
        "numpy": [t for t in numpy_cpu.__cpu_dispatch__ if numpy_cpu.__cpu_features__[t]],
        "openblas": sorted({i["architecture"] for i in threadpool_info() if "architecture" in i}),
    }


def child_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in HELD_VARIABLES}
    return env | {"PYTHONPATH": str(ROOT / "src")} | extra


def native_core() -> tuple[str, bool]:
    """OpenBLAS's own core on this CPU and whether NumPy finds AVX-512 (X86_V4), in a process
    that does not hold them."""
    probe = (
        "import json, numpy, threadpoolctl; from numpy._core import _multiarray_umath as m; "
        "print(json.dumps([threadpoolctl.threadpool_info()[0]['architecture'], "
        "m.__cpu_features__['X86_V4']]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=child_env({}), capture_output=True, text=True
    )
    core, avx512 = json.loads(done.stdout)
    return core, avx512


def emulated_llvm_cpu(cpu: str) -> tuple[str, str]:
    """The CPU name and features LLVM (numba) finds under `qemu-x86_64 -cpu cpu`."""
    probe = (
        "import llvmlite.binding as ll; "
        "print(ll.get_host_cpu_name(), ll.get_host_cpu_features().flatten())"
    )
    done = subprocess.run(
        [QEMU, "-cpu", cpu, sys.executable, "-c", probe], capture_output=True, text=True
    )
    name, features = done.stdout.split()
    return name, features


def qemu_version() -> tuple[int, ...]:
    done = subprocess.run([QEMU, "--version"], capture_output=True, text=True)
    words = done.stdout.split()
    return tuple(int(part) for part in words[words.index("version") + 1].split("."))


def run(name: str, tracks: list[str], *, sample: Path, prefix=(), env=None, unheld=False) -> dict:
    command = [*prefix, sys.executable, __file__, "--sample", str(sample), "--child", *tracks]
    command += ["--unheld"] if unheld else []
    start = time.perf_counter()
    done = subprocess.run(command, env=child_env(env or {}), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: {name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - start
    print(
        f"{name:20} NumPy {'+'.join(result['numpy']):30} OpenBLAS {'+'.join(result['openblas']):9}"
        f" featurize {result['seconds']:6.1f} s, process {result['wall']:6.1f} s",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=3, help=f"of {', '.join(TRACKS)}")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help=f"default: {SAMPLE}")
    parser.add_argument("--cpus", nargs="*", default=["Haswell"], help="qemu CPU models")
    parser.add_argument(
        "--numba-there",
        action="store_true",
        help="numba compiles under emulation too (about 8 minutes more per CPU)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--unheld", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(features_md5s(args.child, sample=args.sample, unheld=args.unheld)))
        return
    if not (args.sample / "blues").is_dir():
        sys.exit(f"error: the real GTZAN sample is not at {args.sample}: pass --sample DIR")
    if args.cpus and not shutil.which(QEMU):
        sys.exit(f"error: {QEMU} not found: apt-get install qemu-user (or pass --cpus)")
    if args.cpus and qemu_version() < MIN_QEMU:
        sys.exit(
            f"error: qemu {'.'.join(map(str, qemu_version()))} crashes in NumPy's AVX2 code: "
            f"install qemu-user {'.'.join(map(str, MIN_QEMU))} or later (Debian 12: from "
            "bookworm-backports)"
        )
    tracks = list(TRACKS[: args.tracks])
    results = compare(tracks, sample=args.sample, cpus=args.cpus, numba_there=args.numba_there)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    held = results["held"]["md5s"]
    failed = [n for n, r in results.items() if n != "AVX-512" and r["md5s"] != held]
    if failed or results.get("AVX-512", {}).get("md5s") == held:
        sys.exit(1)


def compare(tracks: list[str], *, sample: Path, cpus: list[str], numba_there: bool) -> dict:
    """Each setting's results, in a fresh process each."""
    core, avx512 = native_core()
    print(f"{len(tracks)} real tracks x 4 clips; this CPU: NumPy AVX-512 {avx512}, OpenBLAS {core}")
    results = {"held": run("held", tracks, sample=sample)}
    if avx512:
        unheld = {"NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": core}
        results["AVX-512"] = run("AVX-512", tracks, sample=sample, env=unheld, unheld=True)
    if not cpus:
        results["numba haswell"] = run(
            "numba haswell", tracks, sample=sample, env={"NUMBA_CPU_NAME": "haswell"}
        )
    for cpu in cpus:
        with tempfile.TemporaryDirectory() as cache:
            # numba compiled here for the emulated CPU (the machine code LLVM makes there),
            # into the cache the emulated run then loads, unless it is to compile on its own
            llvm_cpu, llvm_features = emulated_llvm_cpu(cpu)
            numba = {"NUMBA_CPU_NAME": llvm_cpu, "NUMBA_CPU_FEATURES": llvm_features}
            numba["NUMBA_CACHE_DIR"] = cache
            results[f"numba {llvm_cpu}"] = run(
                f"numba {llvm_cpu}", tracks, sample=sample, env=numba
            )
            there = {"NUMBA_CACHE_DIR": tempfile.mkdtemp(dir=cache) if numba_there else cache}
            prefix = (QEMU, "-cpu", cpu)
            results[f"qemu {cpu}"] = run(
                f"qemu {cpu}", tracks, sample=sample, prefix=prefix, env=there
            )
    return results


def report(results: dict) -> None:
    """md5s (first 8 digits) per clip and setting, then each setting against `held`."""
    names = list(results)
    print(f"\n{'clip':22} " + " ".join(f"{n[:15]:15}" for n in names))
    held = results["held"]["md5s"]
    for clip in held:
        print(f"{clip:22} " + " ".join(f"{results[n]['md5s'][clip][:8]:15}" for n in names))
    for name in names[1:]:
        differ = sum(results[name]["md5s"][c] != held[c] for c in held)
        verdict = "same" if differ == 0 else f"DIFFERENT ({differ} of {len(held)} clips)"
        print(f"{name} against held: {verdict}")
    for name in names:
        for clip, md5 in results[name]["md5s"].items():
            if md5.startswith("skipped"):
                print(f"{name}, {clip}: {md5}")


if __name__ == "__main__":
    main()
