"""Time the whole `dvc repro` from nothing: wall time per stage, the four trainings, the total.

Clones the project's committed HEAD into a temporary folder (so nothing is cached) and runs
`dvc repro` there with the default params, reading DVC's "Running stage" lines as they come.
It also samples, once a second, the summed memory (RSS) of all processes under `dvc repro`,
so a stage's worker processes count together.

    python benchmarks/bench_pipeline.py            # default pipeline: ~7 min on 2 cores
    python benchmarks/bench_pipeline.py --keep     # leave the clone for a look afterwards
    python benchmarks/bench_pipeline.py --set featurize.representation=musicnn
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
STAGE_LINE = re.compile(r"^Running stage '([\w@-]+)'")


def tree_rss_mib(pid: int) -> float:
    """Summed resident memory of pid and all its descendants, in MiB (Linux /proc)."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,rss="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for line in out.splitlines():
        p, parent, kb = (int(x) for x in line.split())
        children.setdefault(parent, []).append(p)
        rss[p] = kb
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 1024


def run(workdir: Path) -> tuple[dict[str, float], dict[str, float], float]:
    """Run dvc repro in workdir; seconds and peak MiB per stage, and the total seconds."""
    seconds: dict[str, float] = {}
    peak: dict[str, float] = {}
    current = {"stage": None}
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["dvc", "repro"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )

    def sample() -> None:
        while proc.poll() is None:
            stage = current["stage"]
            if stage:
                peak[stage] = max(peak.get(stage, 0.0), tree_rss_mib(proc.pid))
            time.sleep(1)

    threading.Thread(target=sample, daemon=True).start()
    began = start
    for line in proc.stdout:
        sys.stdout.write(line)
        match = STAGE_LINE.match(line)
        if match:
            now = time.perf_counter()
            if current["stage"]:
                seconds[current["stage"]] = now - began
            current["stage"], began = match.group(1), now
    if proc.wait() != 0:
        sys.exit(f"dvc repro failed (exit {proc.returncode})")
    end = time.perf_counter()
    if current["stage"]:
        seconds[current["stage"]] = end - began
    return seconds, peak, end - start


def set_params(path: Path, changes: list[str]) -> None:
    """Apply SECTION.KEY=VALUE changes to a params.yaml (values read as YAML); none: untouched."""
    if not changes:
        return
    yaml = YAML()
    params = yaml.load(path)
    for change in changes:
        key, _, value = change.partition("=")
        section, _, name = key.partition(".")
        params[section][name] = yaml.load(value)
    yaml.dump(params, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="a param to change"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="genre-bench-"))
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(workdir)], check=True)
    set_params(workdir / "params.yaml", args.set)
    try:
        seconds, peak, total = run(workdir)
    finally:
        if args.keep:
            print(f"clone kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'stage':<14}{'seconds':>9}{'peak MiB':>10}")
    for stage, s in seconds.items():
        print(f"{stage:<14}{s:>9.1f}{peak.get(stage, 0):>10.0f}")
    trainings = sum(s for stage, s in seconds.items() if stage.startswith("train_"))
    print(f"four trainings: {trainings / 60:.1f} min")
    changed = f" with {', '.join(args.set)}" if args.set else ""
    print(f"whole dvc repro{changed}: {total / 60:.1f} min")


if __name__ == "__main__":
    main()
