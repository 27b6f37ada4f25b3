"""Training gives the same bytes on another x86 machine: whatever its vector instructions
(AVX-512 or AVX2 only) and its number of cores. Each training runs in a fresh process, as the
train stage does (benchmarks/bench_determinism.py's child mode, on a tiny fabricated input)."""

import importlib.util
import os
from argparse import Namespace

import pytest
from helpers import ROOT

# 128 units: wide enough for a thread-count dependence to show (it does with TF's oneDNN ops off)
TINY = Namespace(tracks_per_genre=5, steps=5, units=128, epochs=1)


def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_determinism", ROOT / "benchmarks" / "bench_determinism.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_lstm_training_does_not_depend_on_cpu_instructions_or_cores():
    determinism = bench()
    here = determinism.run_setting("lstm", "project", TINY)
    # A CPU without AVX-512 (oneDNN limited to AVX2) and with one core, else the same set-up.
    elsewhere = determinism.run_setting("lstm", "avx2-1core", TINY)
    if len(os.sched_getaffinity(0)) > 1:
        assert (here["threads"], elsewhere["threads"]) == (len(os.sched_getaffinity(0)), 1)
    assert here["md5"] == elsewhere["md5"], "training depends on the CPU: see bench_determinism"
