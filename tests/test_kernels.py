"""genre.kernels: NumPy, OpenBLAS and oneDNN held to their AVX2 kernels on every x86-64 CPU
with AVX2, set before they load and only where the CPU can run them; a process whose kernels
are not held is named, and featurize refuses to compute there."""

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy._core import _multiarray_umath as numpy_cpu
from threadpoolctl import threadpool_info

from genre import kernels
from genre.audio import write_wav
from genre.errors import GenreError
from genre.features import extraction
from genre.features.augment import build_manifest
from genre.features.layout import FeatureSettings
from genre.params import AugmentParams, FeaturizeParams

HASWELL_FLAGS = frozenset(
    [
        "fpu",
        "sse",
        "sse2",
        "ssse3",
        "sse4_1",
        "sse4_2",
        "avx",
        "f16c",
        "fma",
        "bmi1",
        "bmi2",
        "avx2",
    ]
)
X86 = platform.machine().lower() in kernels.X86_64
# what OpenBLAS's SkylakeX kernels execute (NumPy's own features: its targets may be disabled)
AVX512 = X86 and all(numpy_cpu.__cpu_features__[f"AVX512{x}"] for x in ("F", "BW", "DQ", "VL"))
VARIABLES = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE")
# This CPU's own kernels: nothing disabled in NumPy, OpenBLAS at its AVX-512 core.
NATIVE = {"NPY_DISABLE_CPU_FEATURES": "", "OPENBLAS_CORETYPE": "SkylakeX"}
needs_avx512 = pytest.mark.skipif(not AVX512, reason="this CPU has no AVX-512 kernels to refuse")


def test_an_x86_cpu_with_avx2_and_fma_gets_numpy_and_openblas_held():
    wanted = kernels.settings(machine="x86_64", flags=HASWELL_FLAGS | {"avx512f"})
    assert wanted == {
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
        "OPENBLAS_CORETYPE": "Haswell",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "TF_ENABLE_ONEDNN_OPTS": "1",
    }
    assert kernels.settings(machine="AMD64", flags=HASWELL_FLAGS) == wanted  # Windows' name


@pytest.mark.parametrize("missing", ["avx2", "fma"])
def test_openblas_is_not_forced_to_kernels_the_cpu_cannot_run(missing):
    """Forcing Haswell on a CPU without AVX2 or FMA would crash (SIGILL); NumPy's disabling
    of features the CPU lacks is harmless, so it stays."""
    wanted = kernels.settings(machine="x86_64", flags=HASWELL_FLAGS - {missing})
    assert "OPENBLAS_CORETYPE" not in wanted
    assert wanted["NPY_DISABLE_CPU_FEATURES"] == "X86_V4 AVX512_ICL AVX512_SPR"
    unknown = kernels.settings(machine="x86_64", flags=None)  # no /proc/cpuinfo: not forced
    assert "OPENBLAS_CORETYPE" not in unknown and "NPY_DISABLE_CPU_FEATURES" in unknown


@pytest.mark.parametrize("machine", ["aarch64", "arm64", "ppc64le"])
def test_other_cpus_get_only_tensorflows_settings(machine):
    """NumPy warns about feature names it does not dispatch: none are named off x86."""
    assert kernels.settings(machine=machine, flags=HASWELL_FLAGS) == {
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "TF_ENABLE_ONEDNN_OPTS": "1",
    }


def test_cpu_flags_come_from_the_first_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 fma\n\n"
        "processor\t: 1\nflags\t\t: fpu sse2\n"
    )
    assert kernels.cpu_flags(str(info)) == {"fpu", "sse2", "avx2", "fma"}
    info.write_text("processor\t: 0\nFeatures\t: fp asimd\n")  # an ARM CPU's
    assert kernels.cpu_flags(str(info)) is None
    assert kernels.cpu_flags(str(tmp_path / "absent")) is None


def test_hold_sets_only_what_the_environment_lacks(monkeypatch):
    monkeypatch.setattr(kernels.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(kernels, "cpu_flags", lambda: HASWELL_FLAGS)
    environ = {"OPENBLAS_CORETYPE": "Zen", "NPY_DISABLE_CPU_FEATURES": "", "PATH": "/bin"}
    kernels.hold(environ)
    assert environ == {
        "OPENBLAS_CORETYPE": "Zen",
        "NPY_DISABLE_CPU_FEATURES": "",
        "PATH": "/bin",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "TF_ENABLE_ONEDNN_OPTS": "1",
    }
    # NumPy refuses NPY_ENABLE_CPU_FEATURES and NPY_DISABLE_CPU_FEATURES together
    environ = {"NPY_ENABLE_CPU_FEATURES": "X86_V3"}
    kernels.hold(environ)
    assert "NPY_DISABLE_CPU_FEATURES" not in environ
    assert environ["OPENBLAS_CORETYPE"] == "Haswell"


def test_this_test_process_runs_the_held_kernels():
    """conftest imports genre before anything loads NumPy: the kernels the stages run."""
    assert kernels.held() and kernels.unheld() == []
    if X86 and numpy_cpu.__cpu_features__["AVX2"] and numpy_cpu.__cpu_features__["FMA3"]:
        on = [name for name in numpy_cpu.__cpu_dispatch__ if numpy_cpu.__cpu_features__[name]]
        assert on == ["X86_V3"]
        cores = {i["architecture"] for i in threadpool_info() if i["internal_api"] == "openblas"}
        assert cores == {"Haswell"}


@pytest.mark.skipif(not X86, reason="NumPy's x86-64 dispatch targets")
def test_numpy_dispatches_nothing_above_avx2_that_is_not_disabled():
    """A NumPy upgrade that adds a dispatch target (another AVX-512 or AVX10 one) fails here
    until NUMPY_ABOVE_AVX2 names it."""
    above = set(numpy_cpu.__cpu_dispatch__) - {kernels.NUMPY_AVX2}
    assert above == set(kernels.NUMPY_ABOVE_AVX2)


@pytest.mark.skipif(not X86, reason="NumPy's x86-64 dispatch targets")
def test_disabling_features_the_cpu_lacks_is_silent():
    """NumPy ignores a disabled feature the CPU lacks (this one lacks AVX512_SPR at least, a
    CPU without AVX-512 all three): no warning, even with warnings as errors."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env["NPY_DISABLE_CPU_FEATURES"] = " ".join(kernels.NUMPY_ABOVE_AVX2)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import numpy; numpy.ones(3).sum()"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert not numpy_cpu.__cpu_features__["AVX512_SPR"]  # so a lacking feature was named


@needs_avx512
def test_a_process_that_loaded_numpy_unheld_is_named():
    code = (
        "import numpy, scipy.linalg, genre.kernels as k; print(k.unheld()); "
        "k.check_held(what='featurize')"
    )
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES} | NATIVE
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "NumPy dispatches X86_V4, AVX512_ICL" in done.stdout
    assert "OpenBLAS runs its SkylakeX kernels (libscipy_openblas" in done.stdout
    assert done.returncode == 1 and "GenreError: featurize on " in done.stderr


def test_featurize_refuses_a_worker_whose_kernels_are_not_held(monkeypatch):
    """featurize_track checks first (once per process), before reading any audio."""
    found = ("NumPy dispatches X86_V4, AVX512_ICL", "OpenBLAS runs its SkylakeX kernels (x.so)")
    monkeypatch.setattr(kernels, "_unheld_here", lambda: found)
    job = extraction.TrackJob(Path("a.wav"), Path("/absent/a.wav"), (0,), ({},))
    settings = FeatureSettings(22050, 30.0, FeaturizeParams())
    with pytest.raises(GenreError) as refused:
        extraction.featurize_track(job, settings=settings)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"featurize on {kernels.socket.gethostname()} (process ")
    assert "NumPy dispatches X86_V4, AVX512_ICL; OpenBLAS runs its SkylakeX kernels" in message
    assert (
        '`NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_CORETYPE=Haswell '
        "dask worker ...`" in message
    )


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """2 one-second tracks, an original and a variant each, in the current folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(extraction.DASK_ENV, raising=False)
    rows = []
    for genre in ("blues", "jazz"):
        Path(f"data/raw/{genre}").mkdir(parents=True)
        tone = 0.3 * np.sin(np.arange(22050) * (0.1 if genre == "blues" else 0.2))
        write_wav(f"data/raw/{genre}/{genre}.00000.wav", tone, sample_rate=22050)
        rows.append(
            {"track_id": f"{genre}.00000", "genre": genre, "path": f"{genre}/{genre}.00000.wav"}
        )
    index = pd.DataFrame(rows)
    index.to_csv("data/raw/index.csv", index=False)
    Path("data/augmented").mkdir()
    build_manifest(index, params=AugmentParams(factor=2.0)).to_csv(
        "data/augmented/manifest.csv", index=False
    )
    params = {"data": {"duration_s": 1.0, "sample_rate": 22050}, "featurize": {}}
    Path("params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def nothing_written(project: Path) -> bool:
    out = project / "data/features"
    return not out.exists() or not any(out.iterdir())


@pytest.mark.slow  # ~6 s: the stage's worker processes start and import librosa
@needs_avx512
def test_the_stage_ends_in_one_line_when_its_workers_run_avx512(project):
    """2 worker processes started with this CPU's own kernels: the stage stops with one line
    naming what to set, and writes nothing."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES} | NATIVE
    env |= {extraction.N_JOBS_ENV: "2", "PYTHONPATH": str(Path(kernels.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "genre.stages.featurize"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: featurize on ") and "NumPy dispatches X86_V4" in line
    assert "OPENBLAS_CORETYPE=Haswell dask worker" in line
    assert nothing_written(project)


@pytest.mark.slow  # about 40 s: the workers start and import librosa
@needs_avx512
def test_a_dask_worker_started_without_the_variables_is_refused(project, monkeypatch):
    """The workers of a Dask cluster started (as a user starts `dask worker`) with this CPU's
    own kernels: featurize names the fix in one line and writes nothing."""
    from distributed import LocalCluster

    from genre.stages import featurize as stage

    for name, value in NATIVE.items():
        monkeypatch.setenv(name, value)  # what the worker processes start with
    cluster = LocalCluster(  # 2 workers: joblib runs the jobs of a 1-thread cluster in here
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with cluster:
        monkeypatch.setenv(extraction.DASK_ENV, cluster.scheduler_address)
        with pytest.raises(GenreError, match=r"OPENBLAS_CORETYPE=Haswell dask worker \.\.\.`"):
            stage.main()
    assert nothing_written(project)


def qemu_skip_reason() -> str | None:
    """Why the emulated CPU cannot run here, or None."""
    if not shutil.which("qemu-x86_64"):
        return "qemu-x86_64 not found (apt-get install qemu-user, 8 or later)"
    words = subprocess.run(["qemu-x86_64", "--version"], capture_output=True, text=True).stdout
    version = words.split()[words.split().index("version") + 1]
    if int(version.split(".")[0]) < 8:
        return f"qemu {version} crashes in NumPy's AVX2 loops: install qemu-user 8 or later"
    return None


@pytest.mark.slow  # about 2 minutes: Python and its libraries start under emulation
@pytest.mark.skipif(not X86, reason="emulates an x86-64 CPU")
def test_a_cpu_without_avx512_featurizes_the_same_bytes(gtzan_sample, tmp_path):
    """Real clips (an original and one noise, shift and stretch clip) featurized under an
    emulated Haswell (AVX2, no AVX-512) and here with the held kernels: the same bytes; with
    this CPU's own AVX-512 kernels (the bug), other bytes."""
    reason = qemu_skip_reason()
    if reason:
        pytest.skip(reason)
    script = Path(__file__).parents[1] / "benchmarks/check_avx2_reproducible.py"
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, script, "--tracks", "1", "--cpus", "Haswell", "--json", out]
        + ["--sample", gtzan_sample],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    results = json.loads(out.read_text())
    held = results["held"]["md5s"]
    assert len(held) == 4 and results["qemu Haswell"]["md5s"] == held
    assert results["qemu Haswell"]["numpy"] == ["X86_V3"]
    assert results["qemu Haswell"]["openblas"] == ["Haswell"]
    assert results["numba haswell"]["md5s"] == held  # numba's AVX2 code, run here
    if AVX512:
        own = results["AVX-512"]["md5s"]
        assert all(own[clip] != held[clip] for clip in held)
