"""How fast the embedded generator writes a data set, projected to the default 1000 x 30 s.

    python benchmarks/bench_synthetic.py --clips-per-genre 10 --duration 30 --jobs 2

Writes into a temporary folder (deleted afterwards) and prints wall time, clips/s, audio
seconds per second and the projected time for 100 clips per genre of 30 s at the same rate;
also the CPU time of all its processes per clip, steadier than wall time on a busy machine.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from genre import GENRES
from genre.sources.synthetic import write_synthetic


def _cpu_s() -> float:
    """CPU time (user + system) of this process and its finished children."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips-per-genre", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per clip")
    parser.add_argument("--jobs", type=int, default=0, help="worker processes; 0 = all cores")
    parser.add_argument("--sample-rate", type=int, default=22050)
    args = parser.parse_args()
    clips = args.clips_per_genre * len(GENRES)
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), _cpu_s()
        paths = write_synthetic(
            Path(tmp),
            clips_per_genre=args.clips_per_genre,
            duration_s=args.duration,
            sample_rate=args.sample_rate,
            seed=42,
            n_jobs=args.jobs,
        )
        wall, cpu = time.perf_counter() - start, _cpu_s() - cpu
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
    audio_rate = clips * args.duration / wall
    jobs = args.jobs or "all"
    print(f"{clips} clips x {args.duration:g} s at {args.sample_rate} Hz, jobs={jobs}")
    print(f"wall time      {wall:8.1f} s   ({megabytes:.0f} MB written)")
    print(f"clips/s        {clips / wall:8.2f}")
    print(f"CPU per clip   {cpu / clips * 1e3:8.1f} ms (all processes)")
    print(f"audio s/s      {audio_rate:8.1f}")
    print(f"projected 1000 x 30 s: {1000 * 30 / audio_rate:6.1f} s")


if __name__ == "__main__":
    main()
